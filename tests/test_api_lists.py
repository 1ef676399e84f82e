"""List pages written fast: the bytes are the shapes' own, and the fast SQL finds the same rows.

A list page writes PartyData and PartySummaryData from templates of their shapes (wire.Shape),
and on SQLite `startsWith` is an index range alone and a dense filter walks the table in key
order (api/engine/resource.py). Each must give what the plain way gives: json_text of the shape
of each row, and the rows a Python filter over every contact picks.
"""

import json
import uuid

import pytest
from sqlalchemy import event, select, text

from imis_mock.api.catalog.party import party_data, party_summary, person_data
from imis_mock.api.engine import wire
from imis_mock.api.engine.filters import _after
from imis_mock.extensions import db
from imis_mock.models import Contact


def paged_bytes(item_type: str, items: list[dict], total: int, offset=0, limit=100) -> bytes:
    """The page as json_text writes the dict the shapes build (no template involved)."""
    page = type("P", (), {})()
    page.offset, page.limit, page.total = offset, limit, total
    page.has_next = offset + len(items) < total
    page.next_offset = offset + len(items) if page.has_next else 0
    return wire.json_text(wire.paged_result(item_type, items, page)).encode()


EDGE_PARTIES = [
    # Every optional field empty (no address, email, phone, employer, join date).
    {"first_name": "", "last_name": "Solo", "member_type": "", "status": "I"},
    # Text that JSON escapes, and text beyond ASCII.
    {
        "first_name": 'Zoë "Zed"',
        "last_name": "Søren\\Ünal\u2028",
        "email": "zoe@example.org",
        "phone": "+1 555\t0100",
        "city": "Montréal",
        "region": "QC",
        "country_code": "CA",
        "member_type": "M",
        "title": "<Chief> & co",
        "organization": "Self-employed",
    },
    {"first_name": "Ann", "last_name": "Smythe", "postal_code": "K1A 0B1", "country_code": "ZZ"},
    {"first_name": "Org", "last_name": "", "is_organization": True, "organization": "Sable Ltd"},
]


def add_parties(app, rows: list[dict]) -> None:
    with app.app_context():
        for n, row in enumerate(rows):
            contact = Contact(imis_id=str(40000 + n), uniform_id=str(uuid.uuid4()), **row)
            db.session.add(contact)
        db.session.commit()


@pytest.mark.parametrize(
    ("path", "item_type", "shape"),
    [
        ("/api/Party", "PartyData", party_data),
        ("/api/Person", "PersonData", person_data),
        ("/api/PartySummary", "PartySummaryData", party_summary),
    ],
)
def test_list_pages_are_the_shapes_byte_for_byte(app, http, path, item_type, shape):
    """Every demo contact and the edge cases: the page is json_text of the dicts, whole."""
    add_parties(app, EDGE_PARTIES)
    with app.app_context():
        query = select(Contact).order_by(Contact.id)
        if path == "/api/Person":
            query = query.where(Contact.is_organization.is_(False))
        contacts = db.session.scalars(query).all()
        items = [shape(c) for c in contacts]
    assert len(items) >= 9  # the demo's and the edge cases
    contract = f"Asi.Soa.Membership.DataContracts.{item_type}, Asi.Contracts"
    expected = paged_bytes(contract, items, len(items), limit=500)
    for _ in range(2):  # the templates made by the first page serve the second
        response = http("GET", f"{path}?limit=500")
        assert response.status_code == 200
        assert response.content == expected
    # A page of the middle: its envelope and items.
    middle = http("GET", f"{path}?limit=3&offset=2")
    assert middle.content == paged_bytes(contract, items[2:5], len(items), offset=2, limit=3)


def test_a_shape_that_reads_its_values_is_built_whole():
    """The first record of a pattern checks its template: a shape that reads a value (here, a
    code's name) fails the check, and that pattern is then always built whole."""
    names = {"A": "Active"}
    shape = wire.Shape(lambda v: {"Name": names.get(v["code"], v["code"]), "Code": v["code"]})
    assert shape.text({"code": "A"}) == '{"Name":"Active","Code":"A"}'
    assert shape.text({"code": "X"}) == '{"Name":"X","Code":"X"}'
    assert shape.text({"code": "A"}) == '{"Name":"Active","Code":"A"}'


def test_shape_patterns_types_and_limit():
    def build(v):
        return wire.compact({"$type": "T", "A": v["a"], "B": v["b"], "Flag": v["flag"]})

    shape = wire.Shape(build, limit=2)
    cases = [
        {"a": "x\u0000y", "b": "", "flag": True},
        {"a": "", "b": 'q"', "flag": False},
        {"a": "1", "b": None, "flag": None},
        {"a": "é", "b": "\\", "flag": 7},  # a number: built whole
        {"a": "x", "b": "y", "flag": True},
    ]
    for values in cases * 2:
        assert shape.text(values) == wire.json_text(build(values))
    assert len(shape.templates) == 2  # the limit: further patterns are built whole
    # A shape that changes a text value (upper-cases it) cannot use a template.
    upper = wire.Shape(lambda v: {"Name": v["name"].upper()})
    assert upper.text({"name": "ann"}) == '{"Name":"ANN"}'
    assert upper.templates == {(str, True): None}


@pytest.mark.parametrize(
    ("text", "after"),
    [
        ("s", "t"),
        ("sz", "s{"),
        ("a\ud7ff", "a\ue000"),  # the next code point is a surrogate: skipped
        ("a\U0010ffff", "b"),
        ("\U0010ffff", None),
    ],
)
def test_the_end_of_a_prefix_range(text, after):
    assert _after(text) == after


def capture_statements(app) -> list[str]:
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", record)
    return statements


def check_starts_with(app, http) -> None:
    """startsWith on edge prefixes gives the rows, in key order, that Python picks."""
    names = ["S%x", "S_y", "Sx", "s%", "Sé", "Sê", "S\ud7ff1", "S\ue000", "S\U0010ffff", "T"]
    names += ["S-a", "Sa", "S b", "Sæ", "Ś", "s&", "S'z"]
    add_parties(app, [{"first_name": "P", "last_name": n} for n in names])
    with app.app_context():
        everyone = db.session.execute(select(Contact.imis_id, Contact.last_name)).all()
    prefixes = ["S%", "s_", "Sé", "S\ud7ff", "S\U0010ffff", "\U0010ffff", "s", "s-", "S ", "s'"]
    for prefix in prefixes:
        response = http("GET", "/api/Party", params={"lastname": f"startsWith:{prefix}"})
        assert response.status_code == 200, (prefix, response.text)
        wanted = [i for i, name in everyone if name.lower().startswith(prefix.lower())]
        got = [p["PartyId"] for p in response.json()["Items"]["$values"]]
        assert got == sorted(wanted, key=int), prefix


def test_starts_with_finds_what_a_python_filter_finds(app, http):
    """LIKE's wildcards taken literally, code points beyond ASCII, the last code points (no
    500). The test databases compare code points (SQLite's BINARY, PostgreSQL's C.UTF-8): the
    range is written plainly there, so the column's index answers it."""
    statements = capture_statements(app)
    check_starts_with(app, http)
    assert not any("COLLATE" in s for s in statements)


@pytest.mark.database("postgresql", reason="a linguistic collation is PostgreSQL's")
def test_starts_with_under_a_linguistic_collation(app, http):
    """A column that sorts as English does (ICU's en-US): "s%x" sorts after "s&", so a range
    in the column's own order would leave it out of startsWith:S%. The range is compared under
    the "C" collation instead."""
    with app.app_context():
        found = db.session.execute(
            text("SELECT collname FROM pg_collation WHERE collname IN ('en-US-x-icu', 'en_US')")
        ).scalars()
        collation = next(iter(sorted(found)), None)
        assert collation is not None, "the server has no English collation (ICU or libc)"
        quoted = f'COLLATE "{collation}"'
        db.session.execute(
            text(f"ALTER TABLE contacts ALTER COLUMN last_name TYPE varchar(60) {quoted}")
        )
        db.session.commit()
        # The order that misled the old range: "s%x" after "s&".
        assert db.session.execute(text(f"SELECT 's%x' < 's&' {quoted}")).scalar() is False
    statements = capture_statements(app)
    check_starts_with(app, http)
    assert any('COLLATE "C"' in s for s in statements)


def test_a_dense_filter_walks_the_table_and_pages_as_the_index_does(app, http):
    """Pages of a filter most rows match come from a walk in key order on SQLite (the counts
    decide); pages of a rare one from the filter's index. Both page like a Python filter."""
    rows = [{"first_name": "P", "last_name": "Mills" if n % 3 else "Moss"} for n in range(60)]
    add_parties(app, rows)
    with app.app_context():
        everyone = db.session.execute(select(Contact.imis_id, Contact.last_name)).all()
    statements = capture_statements(app)
    for prefix, limit in [("m", 7), ("mo", 4), ("mi", 500)]:
        wanted = sorted((i for i, name in everyone if name.lower().startswith(prefix)), key=int)
        offset, got = 0, []
        while True:
            page = http(
                "GET", f"/api/Party?lastname=startsWith:{prefix}&limit={limit}&offset={offset}"
            )
            body = page.json()
            assert body["TotalCount"] == len(wanted)
            got += [p["PartyId"] for p in body["Items"]["$values"]]
            if not body["HasNext"]:
                break
            offset = body["NextOffset"]
        assert got == wanted, prefix
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        walked = [s for s in statements if "(+ (" in s]
        indexed = [s for s in statements if "JOIN (SELECT" in s and "(+ (" not in s]
        assert walked and indexed  # both ways were taken, and gave the same pages


def test_lists_of_members_and_orderby_keep_their_rules(app, http):
    """A member sees their own party only, whichever way the page is found."""
    add_parties(app, [{"first_name": "P", "last_name": "Smith"} for _ in range(30)])
    mine = http("GET", "/api/Party?lastname=startsWith:s&limit=1", user="jsmith").json()
    assert [p["PartyId"] for p in mine["Items"]["$values"]] == ["23179"]
    assert mine["TotalCount"] == 1
    ordered = http("GET", "/api/Party?lastname=startsWith:s&OrderBy=PartyId:Descending&limit=2")
    ids = [p["PartyId"] for p in ordered.json()["Items"]["$values"]]
    assert ids == ["40029", "40028"]
    assert json.loads(ordered.text)["TotalCount"] == 31
