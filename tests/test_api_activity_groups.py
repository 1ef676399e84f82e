"""Activity and groups through the REST API, over real HTTP: create, read back, filter, page,
PUT, the 405s and 404s, case and slash variants, and the member's own-rows rule."""

import pytest
from sqlalchemy import func, select

from imis_mock.extensions import db
from imis_mock.models import Activity, GroupMember
from imis_mock.services import groups
from tests.support.api import CORE, GENERIC, activity_body, bag, prop, values

MEMBERSHIP = "Asi.Soa.Membership.DataContracts"
DENIED = {"Message": "Authorization has been denied for this request."}
BOARD = "0B7E5C1A-2D3F-4A6B-8C9D-1E2F3A4B5C6D"  # the demo's Board of Directors


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


# --- Activity ---------------------------------------------------------------------------------


def test_post_minimal_activity_then_read_it_back(http, app):
    body = activity_body(prop("ACTIVITY_TYPE", "ONLINEAPP"), prop("PartyId", "23181"))
    response = http("POST", "/api/Activity", json=body)
    assert response.status_code == 201
    created = response.json()
    assert created["$type"] == GENERIC
    assert created["EntityTypeName"] == "Activity"
    assert created["PrimaryParentEntityTypeName"] == "Party"
    [seqn] = created["Identity"]["IdentityElements"]["$values"]
    assert created["PrimaryParentIdentity"]["IdentityElements"]["$values"] == ["23181"]
    assert bag(created)["ACTIVITY_TYPE"] == "ONLINEAPP"
    assert bag(created)["SEQN"] == {"$type": "System.Int32", "$value": int(seqn)}
    again = http("GET", f"/api/Activity/{seqn}")
    assert again.status_code == 200 and again.json() == created
    assert http("GET", f"/api/activity/~{seqn}").json() == created


def test_lms_posts_a_course_completion_with_typed_values(http, app):
    body = activity_body(
        prop("ACTIVITY_TYPE", "COURSE"),
        prop("PartyId", "23180"),
        prop("EFFECTIVE_DATE", {"$type": "System.DateTime", "$value": "2026-11-28T00:00:00"}),
        prop("DESCRIPTION", "Course completed: Infection Control"),
        prop("SOURCE_SYSTEM", "LMS"),
        prop("PRODUCT_CODE", "INFECT300"),
        prop("UNITS", {"$type": "System.Decimal", "$value": 2.5}),
        prop("RECURRING_REQUEST", {"$type": "System.Boolean", "$value": "false"}),
    )
    created = http("POST", "/api/Activity", json=body).json()
    got = bag(created)
    assert got["EFFECTIVE_DATE"] == {"$type": "System.DateTime", "$value": "2026-11-28T00:00:00"}
    assert got["UNITS"] == {"$type": "System.Decimal", "$value": 2.5}
    assert got["RECURRING_REQUEST"] == {"$type": "System.Boolean", "$value": False}
    assert (
        got["AMOUNT"] is None
        and "Value" not in [p for p in created["Properties"]["$values"] if p["Name"] == "AMOUNT"][0]
    )
    listed = http("GET", "/api/Activity?PartyID=23180&activity_type=COURSE").json()
    assert [bag(a)["DESCRIPTION"] for a in values(listed)] == [
        "Course completed: Patient Safety Essentials",
        "Course completed: Infection Control",
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("PartyId=23179", ["DUES", "COURSE", "MEETING"]),
        ("partyid=23179&ACTIVITY_TYPE=course", ["COURSE"]),
        ("PartyId=23179&EFFECTIVE_DATE=ge:2026-05-14T00:00:00", ["COURSE", "MEETING"]),
        ("PartyId=23179&effective_date=gt:2026-05-14T00:00:00%2B00:00", ["COURSE"]),
        ("PartyId=23179&EFFECTIVE_DATE=lt:2026-05-14", ["DUES"]),
        ("EFFECTIVE_DATE=ge:2026-09-01&Limit=500", ["COURSE", "COURSE", "ONLINEAPP"]),
        ("ID=23182", ["ONLINEAPP"]),
        ("PartyId=99999", []),
    ],
)
def test_activity_filters(http, query, expected):
    response = http("GET", f"/api/Activity?{query}")
    assert response.status_code == 200
    assert [bag(a)["ACTIVITY_TYPE"] for a in values(response.json())] == expected


def test_activity_paging(http):
    first = http("GET", "/api/Activity?limit=4").json()
    assert (first["Count"], first["TotalCount"], first["HasNext"], first["NextOffset"]) == (
        4,
        6,
        True,
        4,
    )
    second = http("GET", "/api/Activity?Limit=4&Offset=4").json()
    assert (second["Count"], second["HasNext"], second["NextOffset"]) == (2, False, 0)
    seen = [a["Identity"]["IdentityElements"]["$values"][0] for a in values(first) + values(second)]
    assert len(set(seen)) == 6


def test_put_activity_changes_what_the_bag_gives(http):
    [course] = values(http("GET", "/api/Activity?PartyId=23179&ACTIVITY_TYPE=COURSE").json())
    seqn = course["Identity"]["IdentityElements"]["$values"][0]
    changed = dict(
        course,
        Properties=activity_body(
            prop("ACTIVITY_TYPE", "COURSE"),
            prop("PartyId", "23179"),
            prop("UNITS", {"$type": "System.Decimal", "$value": 4}),
            prop("NOTE"),
        )["Properties"],
    )
    response = http("PUT", f"/api/Activity/{seqn}", json=changed)
    assert response.status_code == 200
    got = bag(response.json())
    assert got["UNITS"] == {"$type": "System.Decimal", "$value": 4.0}
    assert got["NOTE"] == "" and got["PRODUCT_CODE"] == "ETHICS101"
    assert bag(http("GET", f"/api/Activity/{seqn}").json()) == got


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ([prop("PartyId", "23179")], "ACTIVITY_TYPE is required."),
        ([prop("ACTIVITY_TYPE", "DUES")], "PartyId is required."),
        ([prop("ACTIVITY_TYPE", "DUES"), prop("PartyId", "99999")], "Party 99999 does not exist."),
        (
            [prop("ACTIVITY_TYPE", "DUES"), prop("PartyId", "23179"), prop("AMOUNT", "lots")],
            "AMOUNT must be a number.",
        ),
        (
            [
                prop("ACTIVITY_TYPE", "DUES"),
                prop("PartyId", "23179"),
                prop("EFFECTIVE_DATE", "2026-02-01"),
                prop("THRU_DATE", "2026-01-01"),
            ],
            "THRU_DATE cannot be before EFFECTIVE_DATE.",
        ),
    ],
)
def test_bad_activity_is_a_400_with_the_reason_and_stores_nothing(http, app, properties, message):
    before = count(app, Activity)
    response = http("POST", "/api/Activity", json=activity_body(*properties))
    assert response.status_code == 400
    assert response.json()["Errors"]["$values"][0]["Message"] == message
    assert count(app, Activity) == before


def test_member_writes_own_activity_but_not_another_partys(http, app):
    own = activity_body(prop("ACTIVITY_TYPE", "NOTE"), prop("PartyId", "23179"))
    assert http("POST", "/api/Activity", user="jsmith", json=own).status_code == 201
    before = count(app, Activity)
    other = activity_body(prop("ACTIVITY_TYPE", "NOTE"), prop("PartyId", "23180"))
    response = http("POST", "/api/Activity", user="jsmith", json=other)
    assert response.status_code == 403 and response.json() == DENIED
    assert count(app, Activity) == before
    # Nor move one of hers to another party, nor read or change another party's.
    [dues] = values(http("GET", "/api/Activity?ACTIVITY_TYPE=DUES", user="jsmith").json())
    seqn = dues["Identity"]["IdentityElements"]["$values"][0]
    moved = activity_body(prop("PartyId", "23180"))
    assert http("PUT", f"/api/Activity/{seqn}", user="jsmith", json=moved).status_code == 403
    listed = http("GET", "/api/Activity", user="jsmith").json()
    assert {bag(a)["PartyId"] for a in values(listed)} == {"23179"}
    [rjones] = values(http("GET", "/api/Activity?PartyId=23180&ACTIVITY_TYPE=DUES").json())
    theirs = rjones["Identity"]["IdentityElements"]["$values"][0]
    assert http("GET", f"/api/Activity/{theirs}", user="jsmith").status_code == 403
    assert http("PUT", f"/api/Activity/{theirs}", user="jsmith", json=own).status_code == 403


def test_activity_verbs_ids_and_metadata(http):
    assert http("DELETE", "/api/Activity/1").status_code == 405
    assert http("GET", "/api/Activity/999999").status_code == 404
    assert http("GET", "/api/Activity/not-a-number").status_code == 404
    assert http("GET", "/api//Activity/").status_code == 200
    assert http("GET", "/api/metadata/Activity").status_code == 501


# --- Groups -----------------------------------------------------------------------------------

GROUP_POST = {
    "$type": f"{MEMBERSHIP}.GroupData, Asi.Contracts",
    "GroupCategory": "",
    "GroupId": "9YEAR",
    "Name": "Nine Year Membership",
    "Description": "",
    "ParentIdentity": {
        "$type": f"{CORE}.IdentityData, Asi.Contracts",
        "EntityTypeName": "Public",
        "IdentityElements": {
            "$type": "System.Collections.ObjectModel.Collection`1[[System.String, mscorlib]], "
            "mscorlib",
            "$values": ["Public Groups"],
        },
    },
    "GroupClass": {
        "$type": f"{MEMBERSHIP}.GroupClassSummaryData, Asi.Contracts",
        "GroupClassId": "E88E66B1-9516-47F9-88DC-E2EB8A3EF13E",
        "Name": "Miscellaneous",
        "Description": "",
        "IsReadOnly": True,
    },
    "StatusCode": "",
}


def test_post_group_as_imis_sample_then_read_and_filter(http):
    response = http("POST", "/api/Group", json=GROUP_POST)
    assert response.status_code == 201
    group = response.json()
    assert group["$type"] == f"{MEMBERSHIP}.GroupData, Asi.Contracts"
    assert group["GroupId"] == "9YEAR" and group["Name"] == "Nine Year Membership"
    assert group["GroupClass"]["Name"] == "Purchased Products"
    assert group["ParentIdentity"]["IdentityElements"]["$values"] == ["Public Groups"]
    assert http("GET", "/api/group/9year").json() == group
    named = http("GET", "/api/Group?Name=Nine Year Membership&limit=1").json()
    assert [g["GroupId"] for g in values(named)] == ["9YEAR"]
    by_class = http("GET", "/api/Group?GroupClassId=E88E66B1-9516-47F9-88DC-E2EB8A3EF13E").json()
    assert [g["GroupId"] for g in values(by_class)] == ["ETHICS101", "9YEAR"]
    assert values(http("GET", "/api/Group?GroupClassId=EVENT").json()) == []
    again = http("POST", "/api/Group", json=GROUP_POST)
    assert again.status_code == 400
    assert again.json()["Errors"]["$values"][0]["Message"] == "Group 9YEAR already exists."
    summary = http("GET", "/api/GroupSummary/9YEAR").json()
    assert summary["$type"] == f"{MEMBERSHIP}.GroupSummaryData, Asi.Contracts"
    assert "ParentIdentity" not in summary


def test_group_verbs_and_rights(http):
    assert http("PUT", "/api/Group/ETHICS101", json=GROUP_POST).status_code == 405
    assert http("DELETE", "/api/Group/ETHICS101").status_code == 405
    assert http("POST", "/api/GroupSummary", json={}).status_code == 405
    assert http("GET", "/api/Group/NOPE").status_code == 404
    # Everyone reads groups; only staff make them.
    assert http("GET", f"/api/Group/{BOARD.lower()}", user="jsmith").status_code == 200
    assert http("POST", "/api/Group", user="jsmith", json=GROUP_POST).status_code == 403


def member_body(group_id, party_id, *details) -> dict:
    """The minimal GroupMember a client posts: a Group with its GroupId, a Party with its
    PartyId [C: iMIS-bits], and optionally MembershipDetails."""
    body = {
        "$type": f"{MEMBERSHIP}.GroupMemberData, Asi.Contracts",
        "Group": {"GroupId": group_id},
        "Party": {"PartyId": party_id},
    }
    if details:
        body["MembershipDetails"] = {"$values": list(details)}
    return body


def test_post_group_member_then_read_filter_and_summaries(http):
    detail = {
        "$type": f"{MEMBERSHIP}.GroupMemberDetailData, Asi.Contracts",
        "GroupMemberDetailId": "ED9378EF-6998-4B64-BECB-2C3A3F897A76",
        "EffectiveDate": "2015-08-03T00:00:00",
        "ExpirationDate": "2016-08-03T00:00:00",
        "IsActive": True,
        "Role": {"RoleId": "29AAE912-660E-4C53-B884-AD9EE27DEE0C", "Name": "Member"},
    }
    response = http("POST", "/api/GroupMember", json=member_body("ethics101", "23180", detail))
    assert response.status_code == 201
    member = response.json()
    assert member["$type"] == f"{MEMBERSHIP}.GroupMemberData, Asi.Contracts"
    member_id = member["GroupMemberId"]
    assert member["Group"]["GroupId"] == "ETHICS101"
    assert member["Group"]["GroupClass"]["GroupClassId"] == groups.PURCHASED_PRODUCTS_CLASS_ID
    assert (
        member["Party"]["PartyId"] == "23180" and member["Party"]["Email"] == "rjones@example.org"
    )
    [got] = member["MembershipDetails"]["$values"]
    assert got["GroupMemberDetailId"] == "ED9378EF-6998-4B64-BECB-2C3A3F897A76"
    assert (got["EffectiveDate"], got["Role"]["Name"]) == ("2015-08-03T00:00:00", "Member")
    assert http("GET", f"/api/GroupMember/{member_id.lower()}").json() == member
    found = http("GET", "/api/GroupMember?GroupId=ETHICS101&PartyId=23180&limit=1").json()
    assert found["Count"] == 1 and values(found)[0]["GroupMemberId"] == member_id
    summary = http("GET", "/api/GroupMemberSummary?GroupID=ETHICS101").json()
    assert [(m["Party"]["Id"], m["Party"]["Email"]) for m in values(summary)] == [
        ("23179", "jsmith@example.org"),
        ("23181", "anika.patel@example.org"),
        ("23180", "rjones@example.org"),
    ]
    assert all("MembershipDetails" not in m for m in values(summary))
    one = http("GET", f"/api/GroupMemberSummary/{member_id}").json()
    assert one["$type"] == f"{MEMBERSHIP}.GroupMemberSummaryData, Asi.Contracts"


def test_put_group_member_replaces_roles(http):
    [member] = values(http("GET", f"/api/GroupMember?GroupId={BOARD}&PartyId=23180").json())
    member_id = member["GroupMemberId"]
    vice = member["MembershipDetails"]["$values"][0]
    body = dict(
        member,
        MembershipDetails={"$values": [dict(vice, Role={"Name": "Chair", "UseDates": True})]},
    )
    response = http("PUT", f"/api/GroupMember/{member_id}", json=body)
    assert response.status_code == 200
    [detail] = response.json()["MembershipDetails"]["$values"]
    assert (detail["GroupMemberDetailId"], detail["Role"]["Name"]) == (
        vice["GroupMemberDetailId"],
        "Chair",
    )
    moved = dict(body, Party={"PartyId": "23181"})
    response = http("PUT", f"/api/GroupMember/{member_id}", json=moved)
    assert response.status_code == 400
    assert response.json()["Errors"]["$values"][0]["Message"] == (
        "A membership cannot move to another party."
    )
    wrong_id = dict(body, GroupMemberId="00000000-0000-0000-0000-000000000000")
    assert http("PUT", f"/api/GroupMember/{member_id}", json=wrong_id).status_code == 400
    assert http("DELETE", f"/api/GroupMember/{member_id}").status_code == 405


def test_group_and_membership_changelogs(http):
    def log(path, user="MANAGER"):
        response = http("GET", path, user=user)
        assert response.status_code == 200, response.text
        return [(c["ChangeType"], c["UserName"]) for c in values(response.json())]

    assert http("POST", "/api/Group", json=GROUP_POST).status_code == 201
    assert log("/api/Group/9year/changelog") == [("Add", "MANAGER")]
    assert log("/api/GroupSummary/9YEAR/changelog", user="jsmith") == [("Add", "MANAGER")]
    member = http("POST", "/api/GroupMember", json=member_body("9YEAR", "23179")).json()
    member_id = member["GroupMemberId"]
    chair = {"Role": {"Name": "Chair"}}
    body = dict(member, MembershipDetails={"$values": [chair]})
    assert http("PUT", f"/api/GroupMember/{member_id}", json=body).status_code == 200
    expected = [("Add", "MANAGER"), ("Change", "MANAGER")]
    assert log(f"/api/GroupMember/{member_id}/changelog") == expected
    # jsmith's own membership: readable by jsmith, as its GET is; another party's is not.
    assert log(f"/api/GroupMemberSummary/{member_id.lower()}/changelog", user="jsmith") == expected
    [other] = values(http("GET", f"/api/GroupMember?GroupId={BOARD}&PartyId=23180").json())
    path = f"/api/GroupMember/{other['GroupMemberId']}/changelog"
    assert http("GET", path, user="jsmith").status_code == 403
    assert http("GET", "/api/Group/NOPE/changelog").status_code == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (member_body("NOPE", "23181"), "Group NOPE does not exist."),
        (member_body(BOARD, "99999"), "Party 99999 does not exist."),
        (member_body(BOARD, "23179"), "Party 23179 is already a member of Board of Directors"),
        (
            member_body(
                BOARD, "23181", {"Role": {"RoleId": "00000000-0000-0000-0000-00000000000A"}}
            ),
            "Role 00000000-0000-0000-0000-00000000000A does not exist.",
        ),
        ({"Party": {"PartyId": "23181"}}, "GroupId is required."),
    ],
)
def test_bad_group_member_is_a_400_and_stores_nothing(http, app, body, message):
    before = count(app, GroupMember)
    response = http("POST", "/api/GroupMember", json=body)
    assert response.status_code == 400
    assert response.json()["Errors"]["$values"][0]["Message"].startswith(message)
    assert count(app, GroupMember) == before


def test_delete_every_detail_then_add_again(http):
    """What one client does to re-add a membership [C: iMIS-bits]."""
    [member] = values(http("GET", f"/api/GroupMember?GroupId={BOARD}&PartyId=23180").json())
    details = [d["GroupMemberDetailId"] for d in member["MembershipDetails"]["$values"]]
    assert len(details) == 2
    for detail_id in details:
        assert http("DELETE", f"/api/GroupMemberDetail/{detail_id}").status_code == 200
    assert http("GET", f"/api/GroupMember/{member['GroupMemberId']}").status_code == 404
    gone = http("GET", f"/api/GroupMember?GroupId={BOARD}&PartyId=23180").json()
    assert gone["Count"] == 0
    again = http("POST", "/api/GroupMember", json=member_body(BOARD, "23180"))
    assert again.status_code == 201
    assert http("DELETE", f"/api/GroupMemberDetail/{details[0]}").status_code == 404


def test_member_reads_own_memberships_and_writes_none(http, app):
    mine = http("GET", "/api/GroupMember", user="jsmith").json()
    assert {m["Party"]["PartyId"] for m in values(mine)} == {"23179"} and mine["Count"] == 2
    [other] = values(http("GET", f"/api/GroupMember?GroupId={BOARD}&PartyId=23180").json())
    assert (
        http("GET", f"/api/GroupMember/{other['GroupMemberId']}", user="jsmith").status_code == 403
    )
    before = count(app, GroupMember)
    body = member_body(BOARD, "23181")
    assert http("POST", "/api/GroupMember", user="jsmith", json=body).status_code == 403
    own = member_body("ETHICS101", "23179")
    assert http("POST", "/api/GroupMember", user="jsmith", json=own).status_code == 403
    detail = other["MembershipDetails"]["$values"][0]["GroupMemberDetailId"]
    assert http("DELETE", f"/api/GroupMemberDetail/{detail}", user="jsmith").status_code == 403
    assert count(app, GroupMember) == before
    summaries = http("GET", "/api/GroupMemberSummary?GroupID=" + BOARD, user="jsmith").json()
    assert [m["Party"]["Id"] for m in values(summaries)] == ["23179"]


def test_activity_validate_and_malformed_bodies(http, app):
    before = count(app, Activity)
    good = activity_body(prop("ACTIVITY_TYPE", "DUES"), prop("PartyId", "23179"))
    checked = http("POST", "/api/Activity/_validate", json=good).json()
    assert checked["IsValid"] is True
    assert bag(checked["Entity"])["ACTIVITY_TYPE"] == "DUES"
    bad = activity_body(prop("PartyId", "23179"))
    checked = http("POST", "/api/Activity/_validate", json=bad).json()
    assert checked["IsValid"] is False
    assert checked["ValidationResults"]["Errors"]["$values"][0]["Message"] == (
        "ACTIVITY_TYPE is required."
    )
    malformed = http(
        "POST",
        "/api/Activity",
        data=b'{"Properties": ',
        headers={"Content-Type": "application/json"},
    )
    assert malformed.status_code == 400
    assert malformed.json() == {"Message": "The request is invalid."}
    wrong_type = dict(good, **{"$type": f"{MEMBERSHIP}.GroupData, Asi.Contracts"})
    assert http("POST", "/api/Activity", json=wrong_type).status_code == 400
    assert count(app, Activity) == before


def test_put_group_member_detail(http):
    [member] = values(http("GET", f"/api/GroupMember?GroupId={BOARD}&PartyId=23180").json())
    vice, plain = member["MembershipDetails"]["$values"]
    detail_id = plain["GroupMemberDetailId"]
    body = dict(plain, Role={"Name": "Secretary"}, ExpirationDate="2027-01-14T00:00:00")
    response = http("PUT", f"/api/GroupMemberDetail/{detail_id.lower()}", json=body)
    assert response.status_code == 200
    got = response.json()
    assert (got["GroupMemberDetailId"], got["Role"]["Name"], got["ExpirationDate"]) == (
        detail_id,
        "Secretary",
        "2027-01-14T00:00:00",
    )
    after = http("GET", f"/api/GroupMember/{member['GroupMemberId']}").json()
    assert [d["Role"]["Name"] for d in after["MembershipDetails"]["$values"]] == [
        "Vice Chair",
        "Secretary",
    ]
    by_party = http("GET", "/api/GroupMemberDetail?PartyId=23180").json()
    assert by_party["Count"] == 2
    assert http("POST", "/api/GroupMemberDetail", json=body).status_code == 405


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("AMOUNT=gt:100", ["DUES", "DUES"]),
        ("UNITS=ge:3", ["COURSE"]),
        ("UNITS=between:1|2", ["COURSE"]),
        ("EFFECTIVE_DATE=between:2026-01-01,2026-03-01", ["DUES", "DUES"]),
        ("SOURCE_SYSTEM=LMS&OrderBy=EFFECTIVE_DATE:Descending", ["COURSE", "COURSE"]),
        ("DESCRIPTION=contains:course completed&PartyId=23180", ["COURSE"]),
        ("RECURRING_REQUEST=true", []),
        ("THRU_DATE=isEmpty:&PartyId=23179", ["COURSE", "MEETING"]),
        ("SEQN=le:2", ["DUES", "COURSE"]),
    ],
)
def test_activity_filters_on_typed_properties(http, query, expected):
    response = http("GET", f"/api/Activity?{query}")
    assert response.status_code == 200, response.text
    assert [bag(a)["ACTIVITY_TYPE"] for a in values(response.json())] == expected


@pytest.mark.parametrize("query", ["AMOUNT=gt:lots", "EFFECTIVE_DATE=ge:yesterday", "SEQN=x"])
def test_activity_filter_with_a_bad_value_is_a_400(http, query):
    response = http("GET", f"/api/Activity?{query}")
    assert response.status_code == 400, response.text


def test_group_filters_match_ids_in_any_case(http):
    lower = http("GET", f"/api/GroupMember?groupid={BOARD.lower()}&PARTYID=23180").json()
    assert lower["Count"] == 1
    assert values(lower)[0]["Group"]["GroupId"] == BOARD
    named = http("GET", "/api/Group?name=BOARD OF DIRECTORS").json()
    assert [g["GroupId"] for g in values(named)] == [BOARD]
