"""Groups: the service rules (groups, classes, roles, members), and the Staff site's pages."""

import re

import pytest
from sqlalchemy import func, select

from imis_mock.extensions import db
from imis_mock.models import GroupMember, GroupMemberDetail
from imis_mock.services import ServiceError, groups
from tests.support.apps import csrf_token_from, sign_in
from tests.support.data import MEMBER_PASSWORD

BOARD = "0B7E5C1A-2D3F-4A6B-8C9D-1E2F3A4B5C6D"  # the demo's Board of Directors
BOARD_LOWER = BOARD.lower()
ETHICS = "ETHICS101"


def roles_by_party(group_id: str) -> dict[str, list[str]]:
    return {
        m.contact.imis_id: [d.role.name for d in m.details]
        for m in groups.list_members(group_id=group_id)
    }


def without_dates(html: str) -> str:
    """The page without the dates printed after each role."""
    return re.sub(r' <span class="hint">\([^<]*\)</span>', "", html)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_system_rows_come_with_the_schema(app):
    with app.app_context():
        member = groups.get_role(groups.MEMBER_ROLE_ID.lower())
        assert member.name == "Member" and member.use_dates
        assert groups.get_role("member") is member
        assert groups.get_group_class(groups.PURCHASED_PRODUCTS_CLASS_ID).name == (
            "Purchased Products"
        )
        assert groups.get_group_class("event").imis_id == "EVENT"


def test_list_and_find_groups(app):
    with app.app_context():
        assert [g.name for g in groups.list_groups()] == [
            "Board of Directors",
            "Ethics in Practice (online course)",
        ]
        assert groups.get_group(BOARD_LOWER).name == "Board of Directors"
        assert groups.get_group("ethics101").imis_id == ETHICS
        assert groups.get_group("") is None and groups.get_group(None) is None
        assert [g.imis_id for g in groups.list_groups(name="board of DIRECTORS")] == [BOARD]
        assert [
            g.imis_id
            for g in groups.list_groups(group_class_id="e88e66b1-9516-47f9-88dc-e2eb8a3ef13e")
        ] == [ETHICS]
        assert groups.list_groups(group_class_id="EVENT") == []


def test_demo_members_and_roles(app):
    with app.app_context():
        assert roles_by_party(BOARD) == {
            "23179": ["Chair"],
            "23180": ["Vice Chair", "Member"],
            "23001": ["Secretary"],
        }
        assert roles_by_party(ETHICS) == {"23179": ["Member"], "23181": ["Member"]}
        jsmith = groups.list_members(party_id="23179")
        assert [m.group.name for m in jsmith] == [
            "Board of Directors",
            "Ethics in Practice (online course)",
        ]
        [one] = groups.list_members(group_id=BOARD_LOWER, party_id="23180")
        assert groups.get_member(one.imis_id.lower()) is one
        assert groups.get_member("not-a-guid") is None
        assert groups.member_counts() == {
            groups.get_group(BOARD).id: 3,
            groups.get_group(ETHICS).id: 2,
        }


def test_create_group_with_the_client_id_as_imis_sample(app):
    with app.app_context():
        group = groups.create_group(
            "Nine Year Membership", group_id="9YEAR", description="", actor="MANAGER"
        )
        db.session.commit()
        assert groups.get_group("9year") is group
        assert group.group_class.imis_id == groups.PURCHASED_PRODUCTS_CLASS_ID
        assert group.status_code == "A"
        generated = groups.create_group("Chapter: Toronto", group_class_id="EVENT", actor="x")
        assert len(generated.imis_id) == 36 and generated.imis_id == generated.imis_id.upper()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"name": ""}, "Name is required."),
        ({"name": "X" * 101}, "Name is longer than 100 characters."),
        ({"name": "Dup", "group_id": "ethics101"}, "Group ethics101 already exists."),
        ({"name": "C", "group_class_id": "NOPE"}, "Group class NOPE does not exist."),
        ({"name": "S", "status_code": "Z"}, "StatusCode must be A (active) or I (inactive)."),
        ({"name": "G", "group_id": "G" * 51}, "GroupId is longer than 50 characters."),
    ],
)
def test_create_group_refuses_bad_input(app, args, message):
    with app.app_context():
        with pytest.raises(ServiceError) as raised:
            groups.create_group(actor="MANAGER", **args)
        assert raised.value.message == message
        db.session.rollback()
        assert len(groups.list_groups()) == 2


def test_add_member_as_member_by_default(app):
    with app.app_context():
        member = groups.add_member(BOARD_LOWER, "23181", join_date="2026-11-01", actor="MANAGER")
        db.session.commit()
        assert member.group.imis_id == BOARD
        assert [d.role.name for d in member.details] == ["Member"]
        assert member.join_date.isoformat() == "2026-11-01T00:00:00"
        assert member.is_active and member.details[0].is_active
        assert roles_by_party(BOARD)["23181"] == ["Member"]


def test_add_member_with_roles_and_dates(app):
    with app.app_context():
        detail_id = "ed9378ef-6998-4b64-becb-2c3a3f897a76"
        roles = [
            groups.RoleDates(
                role=groups.MEMBER_ROLE_ID,
                effective_date="2015-08-03T00:00:00",
                expiration_date="2016-08-03T00:00:00",
                detail_id=detail_id,
            ),
            groups.RoleDates(role="secretary"),
        ]
        member = groups.add_member(ETHICS, "23180", roles=roles, actor="MANAGER")
        db.session.commit()
        first, second = member.details
        assert first.imis_id == detail_id.upper()
        assert (first.effective_date.year, first.expiration_date.year) == (2015, 2016)
        assert second.role.name == "Secretary"
        assert groups.get_detail(detail_id) is first


@pytest.mark.parametrize(
    ("group_id", "party_id", "roles", "message"),
    [
        ("NOPE", "23181", None, "Group NOPE does not exist."),
        ("", "23181", None, "GroupId is required."),
        (BOARD, "99999", None, "Party 99999 does not exist."),
        (BOARD, "23179", None, "Party 23179 is already a member of Board of Directors"),
        (BOARD, "23181", [groups.RoleDates(role="Treasurer")], "Role Treasurer does not exist."),
        (BOARD, "23181", [], None),  # an empty list means the default role
        (
            BOARD,
            "23181",
            [groups.RoleDates(effective_date="2026-02-01", expiration_date="2026-01-01")],
            "ExpirationDate cannot be before EffectiveDate.",
        ),
        (BOARD, "23181", [groups.RoleDates(effective_date="soon")], "EffectiveDate must be a"),
        (BOARD, "23181", [groups.RoleDates(detail_id="123")], "GroupMemberDetailId must be a GUID"),
        (
            BOARD,
            "23181",
            [groups.RoleDates(is_active="perhaps")],
            "IsActive must be true or false.",
        ),
    ],
)
def test_add_member_refuses_bad_input_and_stores_nothing(app, group_id, party_id, roles, message):
    with app.app_context():
        before = (count(GroupMember), count(GroupMemberDetail))
        if message is None:
            groups.add_member(group_id, party_id, roles=roles, actor="MANAGER")
            assert count(GroupMember) == before[0] + 1
            return
        with pytest.raises(ServiceError) as raised:
            groups.add_member(group_id, party_id, roles=roles, actor="MANAGER")
        assert raised.value.message.startswith(message)
        db.session.rollback()
        assert (count(GroupMember), count(GroupMemberDetail)) == before


def test_add_member_refuses_a_detail_id_used_elsewhere(app):
    with app.app_context():
        [chair] = groups.list_members(group_id=BOARD, party_id="23179")
        taken = chair.details[0].imis_id
        with pytest.raises(ServiceError, match="is already used"):
            groups.add_member(
                ETHICS, "23180", roles=[groups.RoleDates(detail_id=taken)], actor="MANAGER"
            )


def test_update_member_replaces_roles_keeping_detail_ids(app):
    with app.app_context():
        [member] = groups.list_members(group_id=BOARD, party_id="23180")
        vice, plain = member.details
        groups.update_member(
            member,
            roles=[
                groups.RoleDates(role="Chair", detail_id=vice.imis_id.lower()),
                groups.RoleDates(role="Secretary"),
            ],
            is_active="false",
            actor="MANAGER",
        )
        db.session.commit()
        assert [d.role.name for d in member.details] == ["Chair", "Secretary"]
        assert member.details[0].imis_id == vice.imis_id
        assert groups.get_detail(plain.imis_id) is None
        assert member.is_active is False
        assert groups.list_members(group_id=BOARD, active=True) != []
        assert member not in groups.list_members(group_id=BOARD, active=True)


def test_update_member_refuses_bad_input_and_changes_nothing(app):
    with app.app_context():
        [member] = groups.list_members(group_id=BOARD, party_id="23180")
        good = groups.RoleDates(role="Chair", detail_id=member.details[0].imis_id)
        for kwargs in (
            {"roles": [good, groups.RoleDates(role="Nobody")]},
            {"roles": []},
            {"roles": [good], "join_date": "yesterday"},
            {"roles": [good, good]},
        ):
            with pytest.raises(ServiceError):
                groups.update_member(member, actor="MANAGER", **kwargs)
            db.session.rollback()
            assert roles_by_party(BOARD)["23180"] == ["Vice Chair", "Member"]


def test_removing_the_last_detail_ends_the_membership(app):
    with app.app_context():
        [member] = groups.list_members(group_id=BOARD, party_id="23180")
        first, second = member.details
        assert groups.remove_detail(first, actor="MANAGER") is False
        db.session.commit()
        assert roles_by_party(BOARD)["23180"] == ["Member"]
        assert groups.remove_detail(groups.get_detail(second.imis_id), actor="MANAGER") is True
        db.session.commit()
        assert "23180" not in roles_by_party(BOARD)
        # The party can then be added again, as the client that re-adds memberships does.
        groups.add_member(BOARD, "23180", actor="MANAGER")
        db.session.commit()
        assert roles_by_party(BOARD)["23180"] == ["Member"]


def test_roles_and_classes(app):
    with app.app_context():
        assert [r.name for r in groups.list_roles()] == [
            "Chair",
            "Vice Chair",
            "Secretary",
            "Member",
        ]
        with pytest.raises(ServiceError, match="Role Chair already exists."):
            groups.create_role("chair", actor="MANAGER")
        with pytest.raises(ServiceError, match="RoleId must be a GUID"):
            groups.create_role("Treasurer", role_id="T1", actor="MANAGER")
        treasurer = groups.create_role("Treasurer", actor="MANAGER")
        assert groups.get_role("TREASURER") is treasurer
        chapter = groups.create_group_class("Chapter", class_id="CHAPTER", actor="MANAGER")
        assert groups.get_group_class("chapter") is chapter
        with pytest.raises(ServiceError, match="Group class Chapter already exists."):
            groups.create_group_class("Again", class_id="Chapter", actor="MANAGER")
        assert [c.name for c in groups.list_group_classes()] == [
            "Chapter",
            "Committee",
            "Event",
            "Purchased Products",
        ]


# Staff pages


def test_contact_groups_tab(staff_client):
    html = without_dates(staff_client.get("/staff/Contacts/23180/Groups").get_data(as_text=True))
    assert 'aria-current="page">Groups</a>' in html
    assert f'href="/staff/Groups/{BOARD}">Board of Directors</a>' in html
    assert "Vice Chair, Member" in html and "Committee" in html
    assert "Ethics in Practice" not in html
    empty = staff_client.get("/staff/Contacts/23182/Groups").get_data(as_text=True)
    assert "Not a member of any group." in empty


def test_groups_list_from_the_nav(staff_client):
    home = staff_client.get("/staff/").get_data(as_text=True)
    assert 'href="/staff/Groups/">Groups</a>' in home
    html = staff_client.get("/staff/Groups/").get_data(as_text=True)
    row = html[html.index("Board of Directors") : html.index("</tr>", html.index("Board of"))]
    assert "<td>Committee</td>" in row and "<td>3</td>" in row
    assert "Purchased Products" in html


def test_group_page_lists_members_with_roles(staff_client):
    raw = staff_client.get(f"/staff/Groups/{BOARD_LOWER}").get_data(as_text=True)
    assert 'Vice Chair <span class="hint">(2022-01-15 to …)</span>' in raw
    html = without_dates(raw)
    assert "<h1>Board of Directors</h1>" in html
    for imis_id, name, roles in (
        ("23179", "Smith, Jane", "Chair"),
        ("23180", "Jones, Robert", "Vice Chair, Member"),
        ("23001", "Reyes, Morgan", "Secretary"),
    ):
        row = html[html.index(f"<td>{imis_id}</td>") :]
        row = row[: row.index("</tr>")]
        assert name in row and f"<td>{roles}</td>" in row
    assert "Anika" not in html
    assert '<label for="party_id">iMIS ID</label>' in html
    assert '<option selected value="29AAE912-660E-4C53-B884-AD9EE27DEE0C">Member</option>' in html


def test_staff_adds_and_removes_a_member(staff_client, app):
    response = staff_client.post(
        f"/staff/Groups/{BOARD}",
        data={"party_id": " 23181 ", "role": "C3A7E2F4-9B5D-4EBC-AF43-7F8D9EACB123"},
    )
    assert response.status_code == 303
    html = staff_client.get(response.location).get_data(as_text=True)
    assert "Member added." in html and "Patel, Anika" in html
    with app.app_context():
        assert roles_by_party(BOARD)["23181"] == ["Secretary"]
        [member] = groups.list_members(group_id=BOARD, party_id="23181")
        member_id = member.imis_id
    response = staff_client.post(f"/staff/Groups/{BOARD}/Members/{member_id}/Remove")
    assert response.status_code == 303
    assert "Anika Patel removed from the group." in staff_client.get(response.location).get_data(
        as_text=True
    )
    with app.app_context():
        assert "23181" not in roles_by_party(BOARD)


@pytest.mark.parametrize(
    ("party_id", "error"),
    [
        ("", "Required"),
        ("99999", "Party 99999 does not exist."),
        ("23179", "Party 23179 is already a member of Board of Directors"),
    ],
)
def test_staff_add_member_refuses_bad_input(staff_client, app, party_id, error):
    data = {"party_id": party_id, "role": groups.MEMBER_ROLE_ID}
    response = staff_client.post(f"/staff/Groups/{BOARD}", data=data)
    assert response.status_code == 200
    assert error in response.get_data(as_text=True)
    with app.app_context():
        assert len(roles_by_party(BOARD)) == 3


def test_remove_needs_a_member_of_that_group(staff_client, app):
    with app.app_context():
        [other] = groups.list_members(group_id=ETHICS, party_id="23181")
        other_id = other.imis_id
    assert staff_client.post(f"/staff/Groups/{BOARD}/Members/{other_id}/Remove").status_code == 404
    assert staff_client.post(f"/staff/Groups/{BOARD}/Members/x/Remove").status_code == 404
    assert staff_client.get("/staff/Groups/NOPE").status_code == 404
    with app.app_context():
        assert roles_by_party(ETHICS)["23181"] == ["Member"]


def test_group_pages_need_csrf(csrf_app):
    client = csrf_app.test_client()
    page = client.get("/staff/SignIn").get_data(as_text=True)
    sign_in(client, "MANAGER", "Staff-Demo-2026", site="staff", csrf_token=csrf_token_from(page))
    data = {"party_id": "23181", "role": groups.MEMBER_ROLE_ID}
    assert client.post(f"/staff/Groups/{BOARD}", data=data).status_code == 400
    with csrf_app.app_context():
        [chair] = groups.list_members(group_id=BOARD, party_id="23179")
        chair_id = chair.imis_id
    assert client.post(f"/staff/Groups/{BOARD}/Members/{chair_id}/Remove").status_code == 400
    with csrf_app.app_context():
        assert len(roles_by_party(BOARD)) == 3


@pytest.mark.parametrize("path", ["/staff/Groups/", f"/staff/Groups/{BOARD}"])
def test_group_pages_are_staff_only(client, path):
    assert client.get(path).status_code == 302
    assert sign_in(client, "jsmith", MEMBER_PASSWORD).status_code == 303
    assert client.get(path).status_code == 403


def test_member_cannot_add_to_a_group(member_client, app):
    data = {"party_id": "23182", "role": groups.MEMBER_ROLE_ID}
    assert member_client.post(f"/staff/Groups/{BOARD}", data=data).status_code == 403
    with app.app_context():
        [chair] = groups.list_members(group_id=BOARD, party_id="23179")
        chair_id = chair.imis_id
    remove = f"/staff/Groups/{BOARD}/Members/{chair_id}/Remove"
    assert member_client.post(remove).status_code == 403
    with app.app_context():
        assert len(roles_by_party(BOARD)) == 3


def test_update_one_detail_keeps_the_others(app):
    with app.app_context():
        [member] = groups.list_members(group_id=BOARD, party_id="23180")
        vice, plain = member.details
        spec = groups.RoleDates(role="Secretary", expiration_date="2027-01-14", is_active=False)
        groups.update_detail(plain, spec, actor="MANAGER")
        db.session.commit()
        assert spec.detail_id is None  # the caller's spec is left as it was
        first, second = groups.list_members(group_id=BOARD, party_id="23180")[0].details
        assert (first.imis_id, first.role.name) == (vice.imis_id, "Vice Chair")
        assert (second.imis_id, second.role.name, second.is_active) == (
            plain.imis_id,
            "Secretary",
            False,
        )
        assert second.expiration_date.isoformat() == "2027-01-14T00:00:00"
        assert second.contact_id == member.contact_id
        with pytest.raises(ServiceError, match="Role Nobody does not exist."):
            groups.update_detail(second, groups.RoleDates(role="Nobody"), actor="MANAGER")
