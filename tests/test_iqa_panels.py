"""Queries and panels staff define (issue 16): a query defined through the Staff site's
Intelligent Query Architect, answered over real HTTP by /api/IQA (GenericEntityData) and
/api/query (ExpandoObject); panel sources from the Panel designer served at /api/{Source} with
`~{PartyId}|{SEQN}` keys; the bad inputs; and the staff pages that show the same rows."""

import re

import pytest
from sqlalchemy import func, select

from imis_mock.extensions import db
from imis_mock.models import Contact, IqaQuery, PanelRow, PanelSource
from imis_mock.services import parties
from tests.support.api import GENERIC, activity_body, bag, prop, values
from tests.support.data import database_dump

QUERY_URL = "/staff/RiSE/IQA"
PANEL_URL = "/staff/RiSE/PanelDesigner"
CORE = "Asi.Soa.Core.DataContracts"


def define_query(staff_client, **fields):
    """Post the query editor as a person fills it in; return the response."""
    form = {
        "name": "Members by city",
        "folder": "$/Sites/Members",
        "source": "Party",
        "columns-0-property": "PartyId",
        "columns-0-alias": "ID",
        "columns-1-property": "PersonName.LastName",
        "columns-1-alias": "Last-Name",
        "columns-2-property": "Addresses.Address.CityName",
        "columns-2-alias": "City",
        "filters-0-property": "PersonName.LastName",
        "filters-0-operator": "startswith",
        "filters-0-prompt": "Last name",
        "filters-1-property": "Addresses.Address.CountryCode",
        "filters-1-operator": "ne",
        "filters-1-value": "ZZ",
        "filters-2-property": "AdditionalAttributes.CustomerTypeCode",
        "filters-2-operator": "eq",
        "filters-2-prompt": "Member type",
        "filters-2-required": "y",
        "sorting-0-property": "PartyId",
        "submit": "Save",
    }
    form.update(fields)
    form = {k: v for k, v in form.items() if v is not None}
    return staff_client.post(f"{QUERY_URL}/New", data=form)


def stored_query(app, name="Members by city") -> IqaQuery:
    with app.app_context():
        query = db.session.scalar(select(IqaQuery).where(IqaQuery.name == name))
        db.session.expunge_all()
        return query


def expando_rows(page) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "$type"} for row in values(page)]


# --- Queries ----------------------------------------------------------------------------------


def test_query_defined_in_the_staff_site_answers_both_shapes(app, staff_client, http):
    response = define_query(staff_client)
    assert response.status_code == 303, response.get_data(as_text=True)
    query = stored_query(app)
    assert re.fullmatch(r"[0-9a-f-]{36}", query.document_key)
    path = "$/Sites/Members/Members by city"

    # /api/query: ExpandoObject rows keyed by alias (hyphen kept), positional parameters.
    got = http("GET", f"/api/query?QueryName={path}&parameter=eq:Smith&parameter=M").json()
    assert got["$type"] == f"{CORE}.PagedResult, Asi.Contracts"
    assert got["Items"]["$type"] == (
        "System.Collections.Generic.List`1[[System.Object, mscorlib]], mscorlib"
    )
    assert values(got)[0]["$type"] == "System.Dynamic.ExpandoObject, System.Core"
    assert expando_rows(got) == [{"ID": "23179", "Last-Name": "Smith", "City": "Toronto"}]

    # /api/IQA, spelled so: GenericEntityData with ResultRow first and the party as parent.
    iqa = http("GET", f"/api/IQA?QueryPath={path}&parameter=Smith&parameter=M").json()
    assert iqa["$type"].startswith(f"{CORE}.PagedResult`1[[{GENERIC}]]")
    [row] = values(iqa)
    assert row["$type"] == GENERIC and row["EntityTypeName"] == "48"
    assert row["PrimaryParentEntityTypeName"] == "Party"
    assert row["PrimaryParentIdentity"]["IdentityElements"]["$values"] == ["23179"]
    props = [(p["Name"], p.get("Value")) for p in row["Properties"]["$values"]]
    assert props == [
        ("ResultRow", "1"),
        ("ID", "23179"),
        ("Last-Name", "Smith"),
        ("City", "Toronto"),
    ]

    # The document version key names the same query, in any case.
    key = query.document_key.upper()
    by_key = http("GET", f"/api/iqa?querydocumentversionkey={key}&parameter=&parameter=M").json()
    assert by_key["TotalCount"] > 1
    assert http(
        "GET", f"/api/query?querydocumentversionkey={key.lower()}&parameter=&parameter=M"
    ).ok


def test_parameters_paging_and_errors(app, staff_client, http):
    assert define_query(staff_client).status_code == 303
    path = "$/Sites/Members/Members by city"
    every = http("GET", f"/api/query?QueryName={path}&parameter=&parameter=M&limit=500").json()
    ids = [r["ID"] for r in values(every)]
    assert len(ids) >= 3 and ids == sorted(ids)
    first = http("GET", f"/api/query?QueryName={path}&Parameter=&Parameter=M&limit=2").json()
    assert [r["ID"] for r in values(first)] == ids[:2]
    assert first["HasNext"] is True and first["NextOffset"] == 2 and first["Count"] == 2
    second = http("GET", f"/api/query?queryname={path}&parameter=&parameter=M&limit=2&offset=2")
    assert [r["ID"] for r in values(second.json())] == ids[2:4]
    # An operator prefix overrides the filter's own operator.
    ne = http("GET", f"/api/query?QueryName={path}&parameter=ne:Smith&parameter=M&limit=500")
    assert "23179" not in [r["ID"] for r in values(ne.json())]

    missing = http("GET", f"/api/query?QueryName={path}&parameter=Smith")
    assert missing.status_code == 400
    assert missing.json() == {"Message": "The parameter 'Member type' is required."}
    unknown = http("GET", "/api/IQA?QueryName=$/Sites/Members/Nothing")
    assert unknown.status_code == 404
    assert unknown.json() == {"Message": "The query '$/Sites/Members/Nothing' was not found."}
    bad_key = http("GET", "/api/query?querydocumentversionkey=0000")
    assert bad_key.status_code == 404 and "Message" in bad_key.json()
    bad_operator = http("GET", f"/api/query?QueryName={path}&parameter=zz:x&parameter=M")
    assert bad_operator.status_code == 400
    assert http("GET", "/api/query").json() == {"Message": "The parameter 'QueryName' is required."}


def test_members_run_queries_under_their_own_rights(app, staff_client, http):
    assert define_query(staff_client).status_code == 303
    path = "$/Sites/Members/Members by city"
    staff = http("GET", f"/api/query?QueryName={path}&parameter=&parameter=M").json()
    assert staff["TotalCount"] > 1
    member = http("GET", f"/api/query?QueryName={path}&parameter=&parameter=M", user="jsmith")
    assert member.status_code == 200
    assert [r["ID"] for r in values(member.json())] == ["23179"]
    # A staff-only query refuses members.
    assert define_query(staff_client, name="Staff list", staff_only="y").status_code == 303
    refused = http(
        "GET", "/api/IQA?QueryName=$/Sites/Members/Staff list&parameter=&parameter=M", user="jsmith"
    )
    assert refused.status_code == 403
    assert "permission" in refused.json()["Message"]


def test_find_by_path_returns_the_definition(app, staff_client, http):
    assert define_query(staff_client).status_code == 303
    body = {
        "$type": f"{CORE}.GenericExecuteRequest, Asi.Contracts",
        "OperationName": "FindByPath",
        "EntityTypeName": "QueryDefinition",
        "Parameters": {
            "$values": [{"$type": "System.String", "$value": "$/sites/members/MEMBERS BY CITY"}]
        },
    }
    got = http("POST", "/api/QueryDefinition/_execute", json=body)
    assert got.status_code == 200
    result = got.json()["Result"]
    assert result["$type"] == f"{CORE}.IqaQueryDefinitionData, Asi.Contracts"
    assert result["Path"] == "$/Sites/Members/Members by city"
    assert result["QueryDefinitionId"] == stored_query(app).document_key.upper()
    assert [p["Alias"] for p in result["Properties"]["$values"]] == ["ID", "Last-Name", "City"]
    assert [p["Caption"] for p in result["Parameters"]["$values"]] == ["Last name", "Member type"]
    body["Parameters"]["$values"][0]["$value"] = "$/Nope"
    assert http("POST", "/api/QueryDefinition/_execute", json=body).status_code == 404


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"columns-0-property": "", "columns-1-property": "", "columns-2-property": ""},
            "at least one display column",
        ),
        ({"name": ""}, "Required"),
        ({"columns-1-property": "NoSuchThing"}, "is not a property of Party"),
        ({"columns-1-alias": "ID"}, "used twice"),
        ({"filters-0-operator": "explode"}, "is not valid"),
    ],
)
def test_bad_query_changes_nothing(app, staff_client, fields, message):
    before = database_dump(app)
    response = define_query(staff_client, **fields)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert database_dump(app) == before


def test_duplicate_name_in_a_folder(app, staff_client):
    assert define_query(staff_client).status_code == 303
    before = database_dump(app)
    again = define_query(staff_client, name="MEMBERS BY CITY")
    assert "already has a query named Members by city" in again.get_data(as_text=True)
    assert database_dump(app) == before
    # Another folder may hold the same name.
    assert define_query(staff_client, folder="$/Other").status_code == 303


def test_run_tab_pages_and_gives_the_urls(app, staff_client):
    assert define_query(staff_client).status_code == 303
    query = stored_query(app)
    page = staff_client.get(f"{QUERY_URL}/{query.id}/Run?p0=Smith&p1=M").get_data(as_text=True)
    assert "<td>23179</td>" in page and "Toronto" in page
    assert "/api/query?QueryName=$/Sites/Members/Members+by+city&amp;parameter=Smith" in page
    assert "/api/IQA?QueryName=" in page
    assert query.document_key.upper() in page
    required = staff_client.get(f"{QUERY_URL}/{query.id}/Run").get_data(as_text=True)
    assert "The parameter &#39;Member type&#39; is required." in required


def test_demo_queries(http):
    path = "$/Common/Queries/Search/Contact/Last Name"
    got = http("GET", f"/api/iqa?queryname={path}&parameter=eq:smith").json()
    assert [bag(r)["ID"] for r in values(got)] == ["23179"]
    group = http("GET", "/api/query?QueryName=$/Demo/Groups/Members of a group&parameter=ETHICS101")
    assert {r["ID"] for r in values(group.json())} >= {"23179"}
    acts = http(
        "GET", "/api/query?QueryName=$/Demo/Activities/Activities of a party&parameter=23179"
    )
    dates = [r["Date"] for r in values(acts.json())]
    assert dates and dates == sorted(dates, reverse=True)


def test_activity_written_through_the_api_shows_in_the_query_at_once(http):
    path = "$/Demo/Activities/Activities of a party"
    before = http("GET", f"/api/query?QueryName={path}&parameter=23180").json()["TotalCount"]
    body = activity_body(
        prop("ACTIVITY_TYPE", "COURSE"), prop("PartyId", "23180"), prop("DESCRIPTION", "Fresh")
    )
    assert http("POST", "/api/Activity", json=body).status_code == 201
    after = http("GET", f"/api/query?QueryName={path}&parameter=23180").json()
    assert after["TotalCount"] == before + 1
    assert "Fresh" in [r["Description"] for r in values(after)]


# --- Panels -----------------------------------------------------------------------------------


def define_panel(staff_client, **fields):
    form = {
        "name": "Training",
        "parent": "Party",
        "multi_instance": "y",
        "replace_201": "y",
        "properties-0-name": "Course",
        "properties-0-type": "text",
        "properties-1-name": "Hours",
        "properties-1-type": "decimal",
        "properties-2-name": "Passed",
        "properties-2-type": "yesno",
        "properties-3-name": "Level",
        "properties-3-type": "list",
        "properties-3-values": "Basic, Advanced",
        "submit": "Save",
    }
    form.update(fields)
    return staff_client.post(f"{PANEL_URL}/New", data={k: v for k, v in form.items() if v})


def panel_body(*properties, party=None) -> dict:
    body = activity_body(*properties)
    if party:
        body["PrimaryParentIdentity"] = {"IdentityElements": {"$values": [party]}}
    return body


def test_panel_crud_with_composite_keys(app, staff_client, http):
    assert define_panel(staff_client).status_code == 303
    created = http(
        "POST",
        "/api/Training",
        json=panel_body(
            prop("Course", "First aid"),
            prop("Hours", {"$type": "System.Decimal", "$value": 3.5}),
            prop("Passed", {"$type": "System.Boolean", "$value": "true"}),
            party="23179",
        ),
    )
    assert created.status_code == 201, created.text
    row = created.json()
    assert row["$type"] == GENERIC and row["EntityTypeName"] == "Training"
    assert row["Identity"]["IdentityElements"]["$values"] == ["23179", "1"]
    assert bag(row) == {
        "Course": "First aid",
        "Hours": {"$type": "System.Decimal", "$value": 3.5},
        "Passed": {"$type": "System.Boolean", "$value": True},
        "Level": None,
        "PartyId": "23179",
        "SEQN": {"$type": "System.Int32", "$value": 1},
    }
    second = http(
        "POST", "/api/training", json=panel_body(prop("PartyId", "23179"), prop("Course", "CPR"))
    )
    assert second.json()["Identity"]["IdentityElements"]["$values"] == ["23179", "2"]
    assert http("GET", "/api/Training/~23179|2").json() == second.json()
    # Filters on any property, in any case; paging as every list.
    listed = http("GET", "/api/Training?course=startsWith:first&PartyId=23179").json()
    assert [bag(r)["Course"] for r in values(listed)] == ["First aid"]
    assert http("GET", "/api/Training?Hours=gt:3").json()["Count"] == 1
    assert http("GET", "/api/Training?Passed=true").json()["Count"] == 1
    # A bare party id lists that party's rows (§7.1), filtered and paged as any list.
    by_party = http("GET", "/api/Training/23179").json()
    assert by_party["$type"].startswith("Asi.Soa.Core.DataContracts.PagedResult")
    assert [r["Identity"]["IdentityElements"]["$values"] for r in values(by_party)] == [
        ["23179", "1"],
        ["23179", "2"],
    ]
    assert [
        bag(r)["Course"] for r in values(http("GET", "/api/training/23179?Course=CPR").json())
    ] == ["CPR"]
    assert http("GET", "/api/Training/23178").json()["Count"] == 0
    assert http("GET", "/api/Training/23179", user="rjones").json()["Count"] == 0
    # PUT answers 201 (the per-source switch), keeps what it does not name.
    put = http("PUT", "/api/Training/~23179|2", json=panel_body(prop("Level", "Advanced")))
    assert put.status_code == 201 and bag(put.json())["Level"] == "Advanced"
    assert bag(put.json())["Course"] == "CPR"
    bad = http("PUT", "/api/Training/~23179|2", json=panel_body(prop("Level", "Expert")))
    assert bad.status_code == 400
    assert bad.json()["Errors"]["$values"][0]["Message"] == "Level must be one of: Basic, Advanced."
    assert http("GET", "/api/Training/~23179|2").json() == put.json()
    assert http("DELETE", "/api/Training/~23179|2").status_code == 200
    assert http("GET", "/api/Training/~23179|2").status_code == 404
    assert http("GET", "/api/Training/~23179|x").status_code == 404
    # A member reads their own party's rows only; a missing source is iMIS's 404.
    assert http("GET", "/api/Training/~23179|1", user="jsmith").status_code == 200
    assert http("GET", "/api/Training", user="rjones").json()["Count"] == 0
    assert http("GET", "/api/NoSuchPanel").status_code == 404
    # BoEntityDefinition names its identity, as clients read it before writing [C: TS-migrate].
    [definition] = values(http("GET", "/api/BoEntityDefinition?EntityTypeName=training").json())
    assert definition["ObjectTypeName"] == "Multi"
    identity = [p["Name"] for p in definition["Properties"]["$values"] if p.get("IsIdentity")]
    assert identity == ["PartyId", "SEQN"]


def test_single_instance_rows_come_with_each_party(app, staff_client, http):
    demo = http("GET", "/api/Name_Demo/23179")
    assert demo.status_code == 200
    assert demo.json()["Identity"]["IdentityElements"]["$values"] == ["23179"]
    put = http("PUT", "/api/name_demo/23179", json=panel_body(prop("FavouriteColour", "Green")))
    assert put.status_code == 201 and bag(put.json())["FavouriteColour"] == "Green"
    with app.app_context():
        contact = parties.create_party(
            {"first_name": "New", "last_name": "Person"}, employer_imis_id=None, actor="MANAGER"
        )
        db.session.commit()
        new_id = contact.imis_id
    fresh = http("GET", f"/api/Name_Demo/{new_id}")
    assert fresh.status_code == 200
    assert bag(fresh.json())["FavouriteColour"] is None
    # The demo's multi-instance row the SDK examples name.
    ceu = http("GET", "/api/Name_CEU/~23179|2").json()
    assert bag(ceu)["CEU_Notes"] == "These are some notes on the subject!"


def test_cs_panels_over_contacts(http):
    contact = http("GET", "/api/CsContact/23179").json()
    assert bag(contact)["LastName"] == "Smith"
    basic = http("GET", "/api/CsContactBasic?email=eq:JSMITH@example.org&limit=2").json()
    assert basic["Items"]["$values"][0]["Identity"]["IdentityElements"]["$values"] == ["23179"]
    assert http("GET", "/api/CsAddress?ID=23179").json()["Count"] == 1
    assert http("GET", "/api/CsContact?IsCompany=false&Status=ne:A").json()["Count"] == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"properties-1-name": "course"}, "clashes with another property"),
        ({"properties-1-name": "PartyId"}, "clashes with another property"),
        ({"name": "Party"}, "already used"),
        ({"name": "Name_CEU"}, "already used"),
        ({"name": "Query"}, "already used"),
        ({"name": "9lives"}, "must start with a letter"),
        ({"properties-3-values": ""}, "needs at least one value"),
    ],
)
def test_bad_panel_changes_nothing(app, staff_client, fields, message):
    before = database_dump(app)
    response = define_panel(staff_client, **fields)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert database_dump(app) == before


def test_delete_panel_confirms_and_refuses_while_used(app, staff_client):
    assert define_panel(staff_client).status_code == 303
    with app.app_context():
        source = db.session.scalar(select(PanelSource).where(PanelSource.name == "Training"))
        source_id = source.id
        db.session.add(PanelRow(source_id=source_id, contact_id=None, seqn=1, data={}))
        db.session.commit()
    ask = staff_client.get(f"{PANEL_URL}/Training/Delete").get_data(as_text=True)
    assert "1 row will be deleted with it" in ask
    query = define_query(
        staff_client,
        name="Training rows",
        source="Training",
        **{
            "columns-0-property": "Course",
            "columns-1-property": "",
            "columns-2-property": "",
            "filters-0-property": "",
            "filters-1-property": "",
            "filters-2-property": "",
            "sorting-0-property": "",
        },
    )
    assert query.status_code == 303, query.get_data(as_text=True)
    used = staff_client.get(f"{PANEL_URL}/Training/Delete").get_data(as_text=True)
    assert "is used by the query $/Sites/Members/Training rows" in used
    refused = staff_client.post(f"{PANEL_URL}/Training/Delete", follow_redirects=True)
    assert "is used by the query" in refused.get_data(as_text=True)
    with app.app_context():
        db.session.delete(
            db.session.scalar(select(IqaQuery).where(IqaQuery.name == "Training rows"))
        )
        db.session.commit()
    assert staff_client.post(f"{PANEL_URL}/Training/Delete").status_code == 303
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(PanelRow).where(PanelRow.source_id == source_id)
            )
            == 0
        )


def test_contact_panels_tab_shows_and_edits_the_api_rows(app, staff_client, http):
    page = staff_client.get("/staff/Contacts/23179/Panels").get_data(as_text=True)
    assert "Name_CEU" in page and "These are some notes on the subject!" in page
    response = staff_client.post(
        "/staff/Contacts/23179/Panels",
        data={"form_key_owner": "Name_Demo-1", "Name_Demo-1-v_Notes": "Prefers email"},
    )
    assert response.status_code == 303
    assert bag(http("GET", "/api/Name_Demo/23179").json())["Notes"] == "Prefers email"
    added = staff_client.post(
        "/staff/Contacts/23179/Panels",
        data={"form_key_owner": "Name_CEU-new", "Name_CEU-new-v_CEU_Hours": "abc"},
        follow_redirects=True,
    )
    assert "CEU_Hours" in added.get_data(as_text=True)
    with app.app_context():
        contact = db.session.scalar(select(Contact).where(Contact.imis_id == "23179"))
        assert contact is not None


def test_changing_a_panel_under_a_query(app, staff_client, http):
    assert define_panel(staff_client).status_code == 303
    columns = {f"columns-{n}-property": "" for n in (1, 2)}
    no_filters = {f"filters-{n}-property": "" for n in (0, 1, 2)}
    query = define_query(
        staff_client,
        name="Levels",
        source="Training",
        **{"columns-0-property": "Level", "sorting-0-property": "Hours"},
        **columns,
        **no_filters,
    )
    assert query.status_code == 303, query.get_data(as_text=True)
    renamed = define_panel(staff_client, name="Courses")  # a new panel, not a rename
    assert renamed.status_code == 303
    rename = staff_client.post(
        f"{PANEL_URL}/Training",
        data={
            "name": "Trainings",
            "parent": "Party",
            "multi_instance": "y",
            "properties-0-name": "Level",
            "properties-0-type": "text",
            "submit": "Save",
        },
    )
    assert "it cannot be renamed" in rename.get_data(as_text=True)
    # Dropping a property the query shows leaves the query answering a clear 400.
    dropped = staff_client.post(
        f"{PANEL_URL}/Training",
        data={
            "name": "Training",
            "parent": "Party",
            "multi_instance": "y",
            "properties-0-name": "Level",
            "properties-0-type": "text",
            "submit": "Save",
        },
    )
    assert dropped.status_code == 303
    got = http("GET", "/api/query?QueryName=$/Sites/Members/Levels")
    assert got.status_code == 400
    assert got.json() == {
        "Message": "The query '$/Sites/Members/Levels' names a property its source no longer has."
    }


def test_query_names_cannot_script_the_staff_pages(app, staff_client):
    name = "x');alert(1);('<b>"
    assert define_query(staff_client, name=name).status_code == 303
    query = stored_query(app, name)
    page = staff_client.get(f"{QUERY_URL}/{query.id}").get_data(as_text=True)
    assert "alert(1)" in page
    assert "x');alert" not in page and "<b>" not in page.split("<h1>")[1].split("</h1>")[0]
    assert "x\\u0027);alert(1);(\\u0027\\u003cb\\u003e" in page


def test_panel_entry_follows_the_definition_not_only_its_revision():
    """Two databases (a reset, or two apps in one process) can hold a source with the same id,
    name and revision but another definition: each gets its own catalog entry."""
    from imis_mock.api.catalog import panels as panel_catalog

    def source(properties, multi):
        return PanelSource(
            id=1,
            name="Name_Twin",
            name_key="name_twin",
            parent="Party",
            revision=1,
            multi_instance=multi,
            properties=properties,
            replace_status=201,
        )

    one = panel_catalog.entry(source([{"name": "Notes", "type": "text"}], False))
    two = panel_catalog.entry(source([{"name": "Hours", "type": "decimal"}], True))
    assert [p.name for p in one.properties] == ["Notes", "PartyId"]
    assert [p.name for p in two.properties] == ["Hours", "PartyId", "SEQN"]
    assert one.object_type == "Single" and two.object_type == "Multi"
