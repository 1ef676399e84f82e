"""services/accounts: the next iMIS ID, read in one statement on SQLite and PostgreSQL."""

import uuid

import pytest
from sqlalchemy import delete, event, insert

from imis_mock.extensions import db
from imis_mock.models import Contact, User
from imis_mock.services import accounts


def add_contacts(imis_ids) -> None:
    if not imis_ids:
        return
    db.session.execute(
        insert(Contact),
        [
            {"imis_id": i, "uniform_id": str(uuid.uuid4()), "first_name": "A", "last_name": i}
            for i in imis_ids
        ],
    )


def only_contacts(imis_ids) -> None:
    db.session.execute(delete(User).where(User.contact_id.is_not(None)))
    db.session.execute(delete(Contact))
    add_contacts(imis_ids)


def test_numeric_max_not_lexical_max_among_many(app):
    with app.app_context():
        # 120 ids from 100000: as text "99999" sorts after all of them, as numbers it is smaller.
        add_contacts([str(100000 + n) for n in range(120)] + ["99999"])
        statements = []

        def seen(conn, cursor, statement, *args):
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", seen)
        try:
            assert accounts.next_imis_id() == "100120"
        finally:
            event.remove(db.engine, "before_cursor_execute", seen)
        # One statement, and the database takes the max: no id list is loaded into Python.
        assert len(statements) == 1 and "max(" in statements[0].lower()


@pytest.mark.parametrize(
    ("imis_ids", "expected"),
    [
        (["99", "100"], "101"),
        (["99", "100", "ABC", "150x", "x150", "-200", "2 00", "1e9"], "101"),
        # Unicode digits are not ASCII digits; 19+ digits is no id the mock assigns.
        (["99", "\u0663\u0663\u0663", "9" * 19], "100"),
        (["0200", "150"], "201"),
        (["ORG-1", "staff"], str(accounts.FIRST_IMIS_ID)),
        ([], str(accounts.FIRST_IMIS_ID)),
    ],
)
def test_only_all_digit_ids_count(app, imis_ids, expected):
    with app.app_context():
        only_contacts(imis_ids)
        assert accounts.next_imis_id() == expected


def test_new_party_takes_the_next_id(app):
    with app.app_context():
        add_contacts(["100", "99", "NOT-A-NUMBER", "900000"])
        user = accounts.create_user(
            "newbie", "Pass-word-2026-x", staff=False, first_name="N", last_name="B"
        )
        assert user.contact.imis_id == "900001"
