"""How /api/IQA and /api/query are made fast (docs/performance.md): the read fast path in front of
Flask answers their successes as Flask does (api/fast_path.py); their pages are written from
templates of the shapes (wire.Template) and give the bytes the shapes themselves give; a
query's SQL is planned once per definition, caller and parameters, so a changed query and
another caller get their own; rows everyone may read are selected without a WHERE."""

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import delete, select, update

from imis_mock.api import catalog
from imis_mock.api import iqa as engine
from imis_mock.api.engine import access, filters, wire
from imis_mock.api.engine.errors import ApiError
from imis_mock.extensions import db
from imis_mock.models import IqaFolder, IqaQuery
from imis_mock.services import accounts
from imis_mock.services.accounts import UserRecord
from tests import test_iqa_panels as panel_tests
from tests.support import fast_path
from tests.support.api import prop, values
from tests.test_iqa_panels import QUERY_URL, define_query, expando_rows, stored_query

ALIASES = ("ID", "Last-Name", "City")
# Text a template must carry as json_text() writes it: quotes, backslashes, control characters,
# non-ASCII, braces and a NUL followed by digits (the templates' own marker).
AWKWARD = ['a "quoted" \\ name', "tab\there\nnewline", "Zoë 東京 😀", "{0} {} %s", "\x000", ""]
# Values that are not text take the shapes' own path: typed scalars, or no Value at all.
TYPED = [None, 7, True, False, Decimal("12.50"), 1.5, date(2026, 3, 1)]
TYPED += [datetime(2026, 3, 1, 9, 30, tzinfo=UTC)]


def plain_iqa_page(result: engine.Result) -> str:
    """The /api/IQA page built from the shapes and encoded whole, as before the templates."""
    entity_type = engine.PARTY_ROWS if result.party_rows else engine.OTHER_ROWS
    items = [
        wire.iqa_row(
            entity_type,
            parent,
            [("ResultRow", str(result.page.offset + n)), *zip(result.aliases, row, strict=True)],
        )
        for n, (parent, row) in enumerate(result.rows, start=1)
    ]
    return wire.json_text(wire.paged_result(wire.GENERIC_ENTITY, items, result.page))


def result_of(rows, *, party_rows: bool, offset: int = 0, total: int | None = None):
    page = filters.Page(rows, offset, 100, len(rows) + offset if total is None else total)
    return engine.Result(ALIASES, rows, page, party_rows)


@pytest.mark.parametrize("party_rows", [True, False])
@pytest.mark.parametrize("offset", [0, 9_900])
@pytest.mark.parametrize("typed", [True, False], ids=["typed", "text-only"])
def test_iqa_page_gives_the_bytes_of_the_shapes(party_rows, offset, typed):
    # Text-only, the page is filled in one join (Template.fill_all); with a typed value, row by row.
    texts = [f"{n:05d}" for n in range(40)] + AWKWARD
    rows = []
    for n, text in enumerate(texts):
        parent = str(23000 + n) if party_rows else None
        rows.append((parent, (parent or text, text, texts[-n - 1])))
    for n, value in enumerate(TYPED if typed else []):  # a typed value in a text row
        rows.append(("23100" if party_rows else None, ("23100", value, f"City {n}")))
    if typed:
        rows.append(("23101" if party_rows else None, (None, None, None)))
    result = result_of(rows, party_rows=party_rows, offset=offset, total=offset + 10_000)

    text = engine.iqa_page(result)
    assert text == plain_iqa_page(result)
    page = json.loads(text)
    assert page["Count"] == len(rows) and page["HasNext"] is True
    first = page["Items"]["$values"][0]["Properties"]["$values"]
    assert [p["Name"] for p in first] == ["ResultRow", *ALIASES]
    assert first[0]["Value"] == str(offset + 1)


def test_iqa_page_of_no_rows_and_rows_rooted_or_not():
    assert engine.iqa_page(result_of([], party_rows=True)) == plain_iqa_page(
        result_of([], party_rows=True)
    )
    # A row of a party source with no party (no parent) beside rooted ones.
    mixed = result_of([("23179", ("1", "a", "b")), (None, ("2", "c", "d"))], party_rows=True)
    assert engine.iqa_page(mixed) == plain_iqa_page(mixed)


def test_a_run_of_rows_is_filled_as_row_by_row():
    template = wire.Template(lambda a, b: {"$type": "T%s", "A": a, "B": [b, "%d"]}, 2)
    rows = [("x", "y"), ("50%", 'q"\\'), ("", "\x001")]
    assert template.fill_all(rows) == ",".join(template.fill(r) for r in rows)
    assert template.fill_all(rows[:1]) == template.fill(rows[0])
    with_a_number = [*rows, (7, "z")]
    assert template.fill_all(with_a_number) == ",".join(map(template.fill, with_a_number))
    assert template.fill_all([]) == ""


def test_a_template_whose_shape_changes_text_uses_the_shape():
    upper = wire.Template(lambda v: {"Name": v.upper(), "Same": v}, 1)
    assert upper.fill(("smith",)) == '{"Name":"SMITH","Same":"smith"}'
    dropped = wire.Template(lambda a, b: {"Only": b}, 2)
    assert dropped.slots is None
    assert dropped.fill(("x", "y")) == '{"Only":"y"}'
    # A constant that looks like a marker does not pass for one.
    lookalike = wire.Template(lambda v: {"Name": "\x001", "Value": v}, 1)
    assert lookalike.fill(("v",)) == wire.json_text({"Name": "\x001", "Value": "v"})


def plain_query_page(result: engine.Result) -> str:
    """The /api/query page built from the shapes and encoded whole, as before the templates."""
    items = [
        wire.expando({a: wire.native(v) for a, v in zip(result.aliases, row, strict=True)})
        for _, row in result.rows
    ]
    return wire.json_text(wire.paged_result(None, items, result.page))


@pytest.mark.parametrize("offset", [0, 9_900])
@pytest.mark.parametrize("typed", [True, False], ids=["typed", "text-only"])
def test_query_page_gives_the_bytes_of_the_shapes(offset, typed):
    texts = [f"{n:05d}" for n in range(40)] + AWKWARD
    rows = [(None, (text, texts[-n - 1], "Toronto")) for n, text in enumerate(texts)]
    rows += [
        (None, ("23100", value, f"City {n}")) for n, value in enumerate(TYPED if typed else [])
    ]
    result = result_of(rows, party_rows=False, offset=offset)
    assert engine.query_page(result) == plain_query_page(result)
    assert engine.query_page(result_of([], party_rows=False)) == plain_query_page(
        result_of([], party_rows=False)
    )


def test_query_page_is_the_expando_shape():
    rows = [(None, ("23179", "Smith", None)), (None, ("1", Decimal("2.5"), date(2026, 1, 2)))]
    page = engine.query_page(result_of(rows, party_rows=False))
    assert page == (
        '{"$type":"Asi.Soa.Core.DataContracts.PagedResult, Asi.Contracts",'
        '"Items":{"$type":"System.Collections.Generic.List`1[[System.Object, mscorlib]], '
        'mscorlib","$values":[{"$type":"System.Dynamic.ExpandoObject, System.Core",'
        '"ID":"23179","Last-Name":"Smith","City":null},'
        '{"$type":"System.Dynamic.ExpandoObject, System.Core","ID":"1","Last-Name":2.5,'
        '"City":"2026-01-02T00:00:00"}]},"Offset":0,"Limit":100,"Count":2,"TotalCount":2,'
        '"NextPageLink":null,"HasNext":false,"NextOffset":0}'
    )


def test_a_changed_query_runs_as_changed(app, staff_client, http):
    assert define_query(staff_client).status_code == 303
    path = "$/Sites/Members/Members by city"
    url = f"/api/query?QueryName={path}&parameter=eq:Smith&parameter=M"
    assert expando_rows(http("GET", url).json()) == [
        {"ID": "23179", "Last-Name": "Smith", "City": "Toronto"}
    ]
    # Saved again under the same name, with another alias and the prompt's operator changed.
    query = stored_query(app)
    edited = staff_client.post(
        f"{QUERY_URL}/{query.id}",
        data={
            "name": "Members by city",
            "folder": "$/Sites/Members",
            "source": "Party",
            "columns-0-property": "PartyId",
            "columns-0-alias": "ID",
            "columns-1-property": "Addresses.Address.CityName",
            "columns-1-alias": "Town",
            "filters-0-property": "PersonName.LastName",
            "filters-0-operator": "contains",
            "filters-0-prompt": "Last name",
            "filters-1-property": "AdditionalAttributes.CustomerTypeCode",
            "filters-1-operator": "eq",
            "filters-1-prompt": "Member type",
            "submit": "Save",
        },
    )
    assert edited.status_code == 303, edited.get_data(as_text=True)
    after = http("GET", url).json()
    assert expando_rows(after) == [{"ID": "23179", "Town": "Toronto"}]
    mith = http("GET", f"/api/query?QueryName={path}&parameter=mith&parameter=M").json()
    assert [r["ID"] for r in values(mith)] == ["23179"]


def test_the_same_query_for_staff_then_a_member_then_staff(app, staff_client, http):
    assert define_query(staff_client).status_code == 303
    url = "/api/IQA?QueryName=$/Sites/Members/Members by city&parameter=&parameter=M"
    staff = http("GET", url).json()
    member = http("GET", url, user="jsmith").json()
    again = http("GET", url).json()
    assert member["TotalCount"] == 1 < staff["TotalCount"] == again["TotalCount"]
    assert again == staff


def test_rows_everyone_may_read_are_selected_without_a_where(app):
    party = catalog.find("Party")
    with app.app_context():
        staff = UserRecord.of(accounts.get_user("MANAGER"))
        member = UserRecord.of(accounts.get_user("jsmith"))
        everything = access.readable(party, staff, select(party.key[0]))
        assert everything.whereclause is None
        own = access.readable(party, member, select(party.key[0]))
        assert "contacts.id = :id_1" in str(own.whereclause)


# --- The read fast path (api/fast_path.py) answers the IQA endpoints' successes ---------------

SEARCH = "$/Common/Queries/Search/Contact/Last Name"
IQA_READS = [
    ("MANAGER", f"/api/IQA?QueryName={SEARCH}&parameter=startsWith:S"),
    ("MANAGER", f"/api/iqa?queryname={SEARCH}&limit=3&offset=2"),
    ("MANAGER", f"/api/query?QUERYPATH={SEARCH}&Parameter=eq:smith"),
    ("jsmith", f"/api/query?QueryName={SEARCH}"),
    ("MANAGER", "/api/query?QueryName=$/Demo/Activities/Activities of a party&parameter=23179"),
    ("MANAGER", "/api/IQA?QueryName=$/Demo/Groups/Members of a group&parameter=ETHICS101"),
    ("jsmith", "/api/IQA?QueryName=$/OAuth2/userInfo"),
    ("MANAGER", "/api//Query/?QueryName=$/OAuth2/userInfo"),
]


@pytest.mark.parametrize(("user", "path"), IQA_READS)
def test_the_fast_answer_is_flasks_byte_for_byte(app, answered, user, path):
    fast = fast_path.get(app, path, user)
    slow = fast_path.get(app, path, user, flask_only=True)
    assert answered == [True]
    assert fast.status == slow.status == "200 OK"
    assert fast.headers.to_wsgi_list() == slow.headers.to_wsgi_list()
    assert fast.data == slow.data and json.loads(fast.data)["Items"]["$values"]
    first, second = fast_path.journal(app)[-2:]
    assert first == second and first[:2] == ("success", user)


@pytest.mark.parametrize(
    ("user", "path", "status", "journalled"),
    [
        ("MANAGER", "/api/IQA?QueryName=$/Nowhere/Nothing", 404, True),
        ("MANAGER", "/api/query?QueryName=$/Demo/Groups/Members of a group", 400, True),
        ("MANAGER", "/api/query", 400, True),
        ("MANAGER", f"/api/IQA?QueryName={SEARCH}&access_token=x", 400, False),
        ("MANAGER", f"/api/IQA?QueryName={SEARCH}&Access_Token=x", 400, False),
        ("MANAGER", f"/api/IQA?QueryName={SEARCH}&parameter=a%00b", 400, False),
        ("MANAGER", f"/api/query?QueryName={SEARCH}&parameter=zz:x", 400, True),
        ("MANAGER", "/api/Party?lastname=startsWith:S&limit=1", 200, True),  # a list: Flask's
    ],
)
def test_every_other_iqa_answer_is_flasks(app, answered, user, path, status, journalled):
    before = len(fast_path.journal(app))
    response = fast_path.get(app, path, user)
    assert response.status_code == status, response.data
    assert not any(answered)
    assert len(fast_path.journal(app)) == before + journalled


def test_a_staff_only_query_refuses_a_member_through_flask(app, staff_client, answered):
    assert define_query(staff_client, name="Staff list", staff_only="y").status_code == 303
    path = "/api/IQA?QueryName=$/Sites/Members/Staff list&parameter=&parameter=M"
    refused = fast_path.get(app, path, "jsmith")
    assert refused.status_code == 403 and "permission" in refused.json["Message"]
    allowed = fast_path.get(app, path, "MANAGER")
    assert allowed.status_code == 200
    assert answered == [False, True]


def test_plans_with_lists_dates_and_panel_values(app, staff_client, http):
    """Parameters SQLAlchemy expands (`in:`), typed values (dates, a panel's JSON values) and
    anonymous parameters run through the plans alike, fast path or Flask, API or Run tab."""
    fields = {
        "name": "Joined",
        "columns-2-property": "AdditionalAttributes.JoinDate",
        "columns-2-alias": "Joined",
        "filters-0-property": "PartyId",
        "filters-0-operator": "in",
        "filters-0-prompt": "IDs",
        "filters-1-property": "AdditionalAttributes.JoinDate",
        "filters-1-operator": "ge",
        "filters-1-value": "1900-01-01",
        "filters-2-property": None,
        "filters-2-operator": None,
        "filters-2-prompt": None,
        "filters-2-required": None,
    }
    assert define_query(staff_client, **fields).status_code == 303
    base = "/api/query?QueryName=$/Sites/Members/Joined"
    listed = http("GET", f"{base}&parameter=23179|23180|99999").json()
    assert [r["ID"] for r in values(listed)] == ["23179", "23180"]
    assert all(r["Joined"].endswith("T00:00:00") for r in values(listed))
    between = http("GET", f"{base}&parameter=between:23179|23180").json()
    assert [r["ID"] for r in values(between)] == ["23179", "23180"]
    iqa_base = base.replace("query", "IQA")
    for path in (f"{base}&parameter=23179|23180", f"{iqa_base}&parameter=23179"):
        fast = fast_path.get(app, path, "MANAGER")
        slow = fast_path.get(app, path, "MANAGER", flask_only=True)
        assert fast.status_code == 200 and fast.data == slow.data

    # A panel source's values are JSON inside its rows: a decimal, text filtered by a prompt.
    assert panel_tests.define_panel(staff_client).status_code == 303
    row = panel_tests.panel_body(
        prop("Course", "First aid"),
        prop("Hours", {"$type": "System.Decimal", "$value": 4.5}),
        party="23179",
    )
    assert http("POST", "/api/Training", json=row).status_code == 201
    training = {
        "name": "Training",
        "folder": "$/Sites/Training",
        "source": "Training",
        "columns-0-property": "PartyId",
        "columns-0-alias": "ID",
        "columns-1-property": "Course",
        "columns-2-property": "Hours",
        "filters-0-property": "Course",
        "filters-0-operator": "startswith",
        "filters-0-prompt": "Course starts with",
        "filters-0-required": "y",
        "submit": "Save",
    }
    assert staff_client.post(f"{QUERY_URL}/New", data=training).status_code == 303
    got = http("GET", "/api/query?QueryName=$/Sites/Training/Training&parameter=first").json()
    assert expando_rows(got) == [{"ID": "23179", "Course": "First aid", "Hours": 4.5}]
    query = stored_query(app, "Training")
    page = staff_client.get(f"{QUERY_URL}/{query.id}/Run?p0=first")
    assert page.status_code == 200 and "First aid" in page.get_data(as_text=True)


# --- A query a caller ran before is one read (api/iqa.py: run_named, Known) -------------------

MEMBERS_BY_CITY = "$/Sites/Members/Members by city"


def plain_answer(args: dict, caller: UserRecord) -> str:
    """/api/query's page as the definition read first gives it."""
    return engine.query_page(engine.run(engine.find(args), caller, args))


def run_args(**given) -> dict:
    given = {"QueryName": MEMBERS_BY_CITY, "parameter": ["", "M"]} | given
    return filters.lower_args(
        (name, value)
        for name, values in given.items()
        for value in (values if isinstance(values, list) else [values])
    )


@pytest.fixture
def callers(app):
    with app.app_context():
        return {name: UserRecord.of(accounts.get_user(name)) for name in ("MANAGER", "jsmith")}


@pytest.fixture
def definition_reads(monkeypatch) -> list:
    """The query definitions read by path or by key."""
    seen = []
    for name in ("find_by_path", "find_by_key"):
        real = getattr(engine.iqa, name)

        def spy(value, real=real):
            seen.append(value)
            return real(value)

        monkeypatch.setattr(engine.iqa, name, spy)
    return seen


@pytest.mark.parametrize(
    "named",
    [{"QueryName": MEMBERS_BY_CITY}, {"QueryPath": MEMBERS_BY_CITY.upper()}, "key"],
    ids=["name", "path", "key"],
)
def test_a_known_query_is_one_read_with_the_plain_answer(
    app, staff_client, callers, definition_reads, named
):
    assert define_query(staff_client).status_code == 303
    if named == "key":
        named = {"querydocumentversionkey": stored_query(app).document_key.upper()}
    with app.app_context():
        for caller in callers.values():
            # The definition is read by the caller's first run alone, whatever the paging.
            for paging, reads in (({}, 1), ({"limit": "1", "offset": "0"}, 0)):
                args = run_args(**named, **paging)
                definition_reads.clear()
                first = engine.answer_query(args, caller)
                again = engine.answer_query(args, caller)
                iqa_page = engine.answer_iqa(args, caller)
                assert len(definition_reads) == reads
                assert first == again == plain_answer(args, caller)
                assert json.loads(again)["Items"]["$values"]
                assert iqa_page == engine.iqa_page(engine.run(engine.find(args), caller, args))


CHANGES = {
    "alias": ("columns", [{"property": "PartyId", "alias": "Party"}]),
    "filter": (
        "filters",
        [
            {
                "property": "PersonName.LastName",
                "operator": "startswith",
                "value": "",
                "prompt": "Last name",
                "required": False,
            },
            {
                "property": "AdditionalAttributes.CustomerTypeCode",
                "operator": "ne",
                "value": "",
                "prompt": "Member type",
                "required": True,
            },
        ],
    ),
    "sorting": ("sorting", [{"property": "PartyId", "descending": True}]),
    "staff only": ("staff_only", True),
    "renamed": ("name_key", "members by town"),
}


@pytest.mark.parametrize("change", [*CHANGES, "folder renamed", "deleted"])
def test_a_query_changed_in_the_database_is_seen_at_once(app, staff_client, callers, change):
    """Changed by SQL, not by save_query: the check is the stored row itself."""
    assert define_query(staff_client).status_code == 303
    query = stored_query(app)
    args = run_args()
    with app.app_context():
        before = {name: engine.answer_query(args, caller) for name, caller in callers.items()}
        assert all(json.loads(page)["Items"]["$values"] for page in before.values())
        queries, folders = IqaQuery.__table__, IqaFolder.__table__
        if change == "deleted":
            db.session.execute(delete(queries).where(queries.c.id == query.id))
        elif change == "folder renamed":
            db.session.execute(
                update(folders).where(folders.c.id == query.folder_id).values(path="$/Elsewhere")
            )
        else:
            column, value = CHANGES[change]
            db.session.execute(
                update(queries).where(queries.c.id == query.id).values({column: value})
            )
        db.session.commit()
        differs = []
        for name, caller in callers.items():
            try:
                expected = plain_answer(args, caller)
            except ApiError as error:
                with pytest.raises(type(error), match=re.escape(str(error))):
                    engine.answer_query(args, caller)
                differs.append(True)
                continue
            assert engine.answer_query(args, caller) == expected
            differs.append(expected != before[name])
        assert any(differs)  # the change shows to staff at least


def test_a_known_query_past_its_last_row(app, staff_client, callers):
    assert define_query(staff_client).status_code == 303
    with app.app_context():
        caller = callers["MANAGER"]
        total = json.loads(engine.answer_query(run_args(), caller))["TotalCount"]
        for offset in (total - 1, total, total + 5):
            args = run_args(offset=str(offset))
            page = engine.answer_query(args, caller)
            assert page == plain_answer(args, caller)
            assert json.loads(page)["TotalCount"] == total
            assert json.loads(page)["Count"] == (1 if offset < total else 0)


def test_known_queries_are_kept_to_a_limit(app, staff_client, callers, monkeypatch):
    monkeypatch.setattr(engine, "_KNOWN", {})
    monkeypatch.setattr(engine, "KNOWN_LIMIT", 2)
    assert define_query(staff_client).status_code == 303
    with app.app_context():
        for prefix in ("", "S", "Sm"):
            engine.answer_query(run_args(parameter=[prefix, "M"]), callers["MANAGER"])
        kept = [key[3] for key in engine._KNOWN]
        assert kept == [("S", "M"), ("Sm", "M")]
        # No rows: nothing known (a page past the end cannot tell its total).
        engine.answer_query(run_args(parameter=["Zzz", "M"]), callers["MANAGER"])
        assert [key[3] for key in engine._KNOWN] == kept
