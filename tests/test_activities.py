"""Activity: the service rules, and the contact's Activities tab on the Staff site."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from imis_mock.extensions import db
from imis_mock.models import Activity, AuditEvent
from imis_mock.services import ServiceError, activities
from tests.support.apps import csrf_token_from, sign_in
from tests.support.data import MEMBER_PASSWORD, STAFF_PASSWORD

# The demo's activities of jsmith (23179), newest first.
JSMITH = [
    "Course completed: Ethics in Practice",
    "Attended Annual Conference 2026",
    "2026 annual dues",
]


def descriptions(rows) -> list[str]:
    return [row.description for row in rows]


def count_activities() -> int:
    return db.session.scalar(select(func.count()).select_from(Activity))


def test_list_by_party_newest_first(app):
    with app.app_context():
        assert descriptions(activities.list_activities(party_id="23179")) == JSMITH
        assert activities.list_activities(party_id="99999") == []


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"activity_type": "COURSE"}, ["Course completed: Ethics in Practice"]),
        ({"activity_type": "course"}, ["Course completed: Ethics in Practice"]),
        ({"since": "2026-05-14"}, JSMITH[:2]),
        ({"since": "2026-05-14T00:00:01"}, JSMITH[:1]),
        ({"until": date(2026, 5, 14)}, JSMITH[1:]),
        ({"since": "2026-02-01T00:00:00+00:00", "until": "2026-06-01T00:00:00Z"}, JSMITH[1:2]),
        ({"since": datetime(2026, 11, 20, 5, tzinfo=UTC)}, []),
        ({"activity_type": "DUES", "since": "2026-01-01"}, JSMITH[2:]),
    ],
)
def test_list_by_type_and_dates(app, filters, expected):
    with app.app_context():
        assert descriptions(activities.list_activities(party_id="23179", **filters)) == expected


def test_list_every_party_since_a_date(app):
    with app.app_context():
        rows = activities.list_activities(since="2026-09-01")
        assert [(r.contact.imis_id, r.activity_type) for r in rows] == [
            ("23179", "COURSE"),
            ("23180", "COURSE"),
            ("23182", "ONLINEAPP"),
        ]


def test_list_with_a_bad_date_says_so(app):
    with app.app_context(), pytest.raises(ServiceError, match="EFFECTIVE_DATE must be a date"):
        activities.list_activities(since="last tuesday")


def test_create_with_only_type_and_party_as_imis_minimal_post(app):
    with app.app_context():
        activity = activities.create_activity("23181", actor="MANAGER", activity_type="onlineapp")
        db.session.commit()
        stored = db.session.get(Activity, activity.id)
        assert stored.contact.imis_id == "23181"
        assert stored.activity_type == "ONLINEAPP"
        # Defaults: today on the application clock, and the time it was written.
        assert stored.effective_date.time() == datetime.min.time()
        assert stored.effective_date.date() == datetime.now(UTC).date()
        assert stored.transaction_date.date() == datetime.now(UTC).date()
        assert (stored.units, stored.amount, stored.description) == (None, None, "")
        event = db.session.scalar(select(AuditEvent).filter_by(action="activity.create"))
        assert event is not None


def test_create_an_lms_course_completion(app):
    with app.app_context():
        activity = activities.create_activity(
            "23181",
            actor="lms",
            activity_type="COURSE",
            effective_date="2026-11-30T00:00:00",
            description="Course completed: Bridge Inspection 101",
            source_system="LMS",
            product_code="BRIDGE101",
            units="2.5",
            amount=0,
            recurring_request="false",
        )
        db.session.commit()
        stored = db.session.get(Activity, activity.id)
        assert stored.effective_date == datetime(2026, 11, 30)
        assert stored.units == Decimal("2.50")
        assert stored.amount == Decimal("0.00")
        assert stored.recurring_request is False
        assert activities.list_activities(party_id="23181", activity_type="COURSE") == [stored]


def test_amounts_are_exact_and_compare_in_sql(app):
    with app.app_context():
        activities.create_activity("23181", actor="x", activity_type="GIFT", amount="0.10")
        activities.create_activity("23181", actor="x", activity_type="GIFT", amount="0.20")
        db.session.commit()
        total = db.session.scalar(
            select(func.sum(Activity.amount)).where(Activity.activity_type == "GIFT")
        )
        # Summed as hundredths: exactly 0.30, not 0.30000000000000004.
        assert total == Decimal("0.30") and isinstance(total, Decimal)
        over = db.session.scalars(
            select(Activity).where(
                Activity.activity_type == "GIFT", Activity.amount > Decimal("0.15")
            )
        )
        assert [a.amount for a in over] == [Decimal("0.20")]


@pytest.mark.parametrize(
    ("party_id", "fields", "message"),
    [
        ("99999", {"activity_type": "DUES"}, "Party 99999 does not exist."),
        ("", {"activity_type": "DUES"}, "PartyId is required."),
        (None, {"activity_type": "DUES"}, "PartyId is required."),
        ("23179", {}, "ACTIVITY_TYPE is required."),
        ("23179", {"activity_type": "  "}, "ACTIVITY_TYPE is required."),
        ("23179", {"activity_type": "X" * 11}, "ACTIVITY_TYPE is longer than 10 characters."),
        ("23179", {"activity_type": ["DUES"]}, "ACTIVITY_TYPE must be text."),
        ("23179", {"activity_type": "DUES", "effective_date": "31/12/2026"}, "EFFECTIVE_DATE must"),
        ("23179", {"activity_type": "DUES", "amount": "12,50"}, "AMOUNT must be a number."),
        ("23179", {"activity_type": "DUES", "amount": "NaN"}, "AMOUNT must be a number below"),
        ("23179", {"activity_type": "DUES", "amount": "1e20"}, "AMOUNT must be a number below"),
        ("23179", {"activity_type": "DUES", "units": True}, "UNITS must be a number."),
        ("23179", {"activity_type": "DUES", "recurring_request": "maybe"}, "RECURRING_REQUEST"),
        (
            "23179",
            {"activity_type": "DUES", "effective_date": "2026-02-01", "thru_date": "2026-01-31"},
            "THRU_DATE cannot be before EFFECTIVE_DATE.",
        ),
    ],
)
def test_create_refuses_bad_input_and_stores_nothing(app, party_id, fields, message):
    with app.app_context():
        before = count_activities()
        with pytest.raises(ServiceError, match=message.replace(".", r"\.")):
            activities.create_activity(party_id, actor="MANAGER", **fields)
        db.session.rollback()
        assert count_activities() == before


def test_update_changes_given_fields_only(app):
    with app.app_context():
        [course] = activities.list_activities(party_id="23179", activity_type="COURSE")
        changed = activities.update_activity(
            course, actor="lms", units="4", note="Score corrected to 95%.", description=None
        )
        db.session.commit()
        assert changed == ["units", "note", "description"]
        stored = db.session.get(Activity, course.id)
        assert (stored.units, stored.note, stored.description) == (
            Decimal("4.00"),
            "Score corrected to 95%.",
            "",
        )
        assert stored.product_code == "ETHICS101"
        assert activities.update_activity(stored, actor="lms", units="4.00") == []


def test_update_moves_an_activity_to_another_party(app):
    with app.app_context():
        [course] = activities.list_activities(party_id="23179", activity_type="COURSE")
        assert activities.update_activity(course, actor="MANAGER", party_id="23181") == [
            "contact_id"
        ]
        db.session.commit()
        assert course.contact.imis_id == "23181"
        assert activities.list_activities(party_id="23179", activity_type="COURSE") == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"activity_type": ""}, "ACTIVITY_TYPE is required."),
        ({"effective_date": None}, "EFFECTIVE_DATE is required."),
        ({"thru_date": "2025-12-31"}, "THRU_DATE cannot be before EFFECTIVE_DATE."),
        ({"party_id": "404"}, "Party 404 does not exist."),
    ],
)
def test_update_refuses_bad_input_and_changes_nothing(app, fields, message):
    with app.app_context():
        [dues] = activities.list_activities(party_id="23179", activity_type="DUES")
        with pytest.raises(ServiceError, match=message.replace(".", r"\.")):
            activities.update_activity(dues, actor="MANAGER", units="9", **fields)
        db.session.rollback()
        stored = db.session.get(Activity, dues.id)
        assert (stored.activity_type, stored.units) == ("DUES", None)
        assert stored.contact.imis_id == "23179"
        assert stored.thru_date == datetime(2026, 12, 31)


def test_get_activity(app):
    with app.app_context():
        [dues] = activities.list_activities(party_id="23179", activity_type="DUES")
        assert activities.get_activity(str(dues.id)) is dues
        assert activities.get_activity("nope") is None
        assert activities.get_activity(10**6) is None


# The Activities tab


def test_activities_tab_shows_an_lms_course_completion(staff_client):
    html = staff_client.get("/staff/Contacts/23179/Activities").get_data(as_text=True)
    assert 'aria-current="page">Activities</a>' in html
    row = html[html.index("2026-11-20") : html.index("</tr>", html.index("2026-11-20"))]
    assert "<td>Course</td>" in row
    assert "Course completed: Ethics in Practice" in row
    assert "<td>LMS</td>" in row and "<td>ETHICS101</td>" in row and "<td>3.00</td>" in row
    # Newest first, and only this contact's rows.
    assert html.index("2026-11-20") < html.index("2026-05-14") < html.index("2026-01-01")
    assert "Patient Safety Essentials" not in html
    assert '<label for="activity_type">Activity type</label>' in html


def test_contact_tabs_link_to_each_other(staff_client):
    html = staff_client.get("/staff/Contacts/23179").get_data(as_text=True)
    assert 'href="/staff/Contacts/23179/Activities">Activities</a>' in html
    assert 'href="/staff/Contacts/23179/Groups">Groups</a>' in html
    assert 'aria-current="page">Overview</a>' in html


def test_contact_without_activities(staff_client):
    html = staff_client.get("/staff/Contacts/23001/Activities").get_data(as_text=True)
    assert "No activities." in html


def test_staff_adds_an_activity(staff_client, app):
    response = staff_client.post(
        "/staff/Contacts/23181/Activities",
        data={
            "activity_type": "MEETING",
            "effective_date": "2026-11-02",
            "description": "Chapter meeting",
            "units": "",
            "amount": "25",
        },
    )
    assert response.status_code == 303
    html = staff_client.get(response.location).get_data(as_text=True)
    assert "Activity added." in html and "Chapter meeting" in html and "25.00" in html
    with app.app_context():
        [row] = activities.list_activities(party_id="23181")
        assert (row.activity_type, row.source_system, row.amount) == (
            "MEETING",
            "STAFF",
            Decimal("25.00"),
        )


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"activity_type": "MEETING", "effective_date": ""}, "Required"),
        ({"activity_type": "MEETING", "effective_date": "2026-13-01"}, "Not a valid date value."),
        ({"activity_type": "MEETING", "effective_date": "2026-11-02", "amount": "x"}, "Not a"),
        ({"activity_type": "BOGUS", "effective_date": "2026-11-02"}, "Not a valid choice."),
    ],
)
def test_staff_add_activity_refuses_bad_input(staff_client, app, data, error):
    response = staff_client.post("/staff/Contacts/23181/Activities", data=data)
    assert response.status_code == 200
    assert error in response.get_data(as_text=True)
    with app.app_context():
        assert activities.list_activities(party_id="23181") == []


def test_add_activity_needs_the_csrf_token(csrf_app):
    client = csrf_app.test_client()
    page = client.get("/staff/SignIn").get_data(as_text=True)
    sign_in(client, "MANAGER", STAFF_PASSWORD, site="staff", csrf_token=csrf_token_from(page))
    data = {"activity_type": "MEETING", "effective_date": "2026-11-02"}
    assert client.post("/staff/Contacts/23181/Activities", data=data).status_code == 400
    with csrf_app.app_context():
        assert activities.list_activities(party_id="23181") == []
    tab = client.get("/staff/Contacts/23181/Activities").get_data(as_text=True)
    data["csrf_token"] = csrf_token_from(tab)
    assert client.post("/staff/Contacts/23181/Activities", data=data).status_code == 303


@pytest.mark.parametrize("tab", ["Activities", "Groups"])
def test_tabs_are_staff_only(client, tab):
    url = f"/staff/Contacts/23179/{tab}"
    assert client.get(url).status_code == 302
    assert sign_in(client, "jsmith", MEMBER_PASSWORD).status_code == 303
    assert client.get(url).status_code == 403
    assert client.post(url).status_code in (403, 405)


def test_unknown_contact_tabs_404(staff_client):
    assert staff_client.get("/staff/Contacts/99999/Activities").status_code == 404
    assert staff_client.get("/staff/Contacts/99999/Groups").status_code == 404


def test_text_an_api_client_wrote_is_escaped_on_the_tab(staff_client, app):
    with app.app_context():
        activities.create_activity(
            "23181",
            actor="lms",
            activity_type="COURSE",
            description='<script>alert("x")</script>',
            note="<b>bold</b>",
        )
        db.session.commit()
    html = staff_client.get("/staff/Contacts/23181/Activities").get_data(as_text=True)
    assert "<script>alert" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
