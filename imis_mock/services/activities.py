"""Activity: what happened to a party (dues, a meeting, a course completed in an LMS).

Functions add and change rows and flush them; the caller commits (a view, the API engine, the demo
loader), so several changes can share one transaction. Messages name the iMIS property
(ACTIVITY_TYPE, EFFECTIVE_DATE) since API clients are who most often send a bad value; the error's
`field` is the model attribute, for a form.
"""

from datetime import datetime

from sqlalchemy import Select, select

from imis_mock.extensions import db
from imis_mock.models import Activity, Contact
from imis_mock.services import ServiceError, audit, clock, values

# The activity types the mock knows, with the names the Staff site shows. Other codes are
# accepted as they are: each iMIS site defines its own list, and a client's code is its business.
ACTIVITY_TYPES = {
    "COURSE": "Course",
    "CERT": "Certification",
    "DUES": "Dues",
    "EMAIL": "Email",
    "GIFT": "Gift",
    "MEETING": "Meeting",
    "NOTE": "Note",
    "ONLINEAPP": "Online application",
    "ORDER": "Order",
}

# attribute: (iMIS property name, longest text); the one table of what a write may set.
TEXT_FIELDS = {
    "activity_type": ("ACTIVITY_TYPE", 10),
    "description": ("DESCRIPTION", 255),
    "source_system": ("SOURCE_SYSTEM", 10),
    "source_code": ("SOURCE_CODE", 40),
    "product_code": ("PRODUCT_CODE", 31),
    "other_code": ("OTHER_CODE", 40),
    "category": ("CATEGORY", 15),
    "note": ("NOTE", 4000),
}
DATE_FIELDS = {
    "effective_date": "EFFECTIVE_DATE",
    "thru_date": "THRU_DATE",
    "transaction_date": "TRANSACTION_DATE",
}
DECIMAL_FIELDS = {"units": "UNITS", "amount": "AMOUNT"}
BOOLEAN_FIELDS = {"recurring_request": "RECURRING_REQUEST"}
FIELDS = (*TEXT_FIELDS, *DATE_FIELDS, *DECIMAL_FIELDS, *BOOLEAN_FIELDS)


def type_label(code: str) -> str:
    """Return the Staff site's name for an activity type (the code itself when unknown)."""
    return ACTIVITY_TYPES.get(code, code)


def activity_query(
    *,
    party_id: str | None = None,
    activity_type: str | None = None,
    since: object = None,
    until: object = None,
) -> Select:
    """Activities, newest first, of a party (iMIS ID), of a type, effective in a date range.

    `since` and `until` are inclusive and take what values.naive_datetime reads.
    """
    query = select(Activity).order_by(Activity.effective_date.desc(), Activity.id.desc())
    if party_id is not None:
        query = query.join(Activity.contact).where(Contact.imis_id == str(party_id).strip())
    if activity_type:
        query = query.where(Activity.activity_type == activity_type.strip().upper())
    start = values.naive_datetime(since, "EFFECTIVE_DATE")
    if start is not None:
        query = query.where(Activity.effective_date >= start)
    end = values.naive_datetime(until, "EFFECTIVE_DATE")
    if end is not None:
        query = query.where(Activity.effective_date <= end)
    return query


def list_activities(**filters) -> list[Activity]:
    """Return the activities activity_query selects."""
    return list(db.session.scalars(activity_query(**filters)))


def get_activity(activity_id: int | str) -> Activity | None:
    """Return the activity with this ActivityId (iMIS SEQN), or None."""
    try:
        key = int(str(activity_id).strip())
    except ValueError:
        return None
    return db.session.get(Activity, key)


def party(party_id: object) -> Contact:
    """Return the contact an activity belongs to, or say that the PartyId is wrong."""
    key = values.text(party_id, "PartyId", 20, field="party_id")
    if not key:
        raise ServiceError("PartyId is required.", "party_id")
    contact = db.session.scalar(select(Contact).where(Contact.imis_id == key))
    if contact is None:
        raise ServiceError(f"Party {key} does not exist.", "party_id")
    return contact


def _read(fields: dict) -> dict:
    """Check and convert the given fields; unknown names are a programming error."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise TypeError(f"not activity fields: {sorted(unknown)}")
    result = {}
    for name, value in fields.items():
        if name in TEXT_FIELDS:
            label, limit = TEXT_FIELDS[name]
            result[name] = values.text(value, label, limit, field=name)
        elif name in DATE_FIELDS:
            result[name] = values.naive_datetime(value, DATE_FIELDS[name], field=name)
        elif name in DECIMAL_FIELDS:
            result[name] = values.decimal(value, DECIMAL_FIELDS[name], field=name)
        else:
            result[name] = values.boolean(value, BOOLEAN_FIELDS[name], field=name)
    if "activity_type" in result:
        result["activity_type"] = result["activity_type"].upper()
    return result


def _check(row: dict) -> None:
    """Refuse a row that breaks a rule, before anything is changed."""
    if not row.get("activity_type"):
        raise ServiceError("ACTIVITY_TYPE is required.", "activity_type")
    if row.get("effective_date") is None:
        raise ServiceError("EFFECTIVE_DATE is required.", "effective_date")
    if row.get("thru_date") is not None and row["thru_date"] < row["effective_date"]:
        raise ServiceError("THRU_DATE cannot be before EFFECTIVE_DATE.", "thru_date")


def create_activity(party_id: object, *, actor: str, **fields) -> Activity:
    """Record an activity for a party (iMIS ID) and flush it. The caller commits.

    Only ACTIVITY_TYPE is required, as in iMIS's minimal POST: EFFECTIVE_DATE defaults to today
    and TRANSACTION_DATE to now (UTC, on the application clock).
    """
    contact = party(party_id)
    data = _read(fields)
    now = clock.now().replace(tzinfo=None)
    data["effective_date"] = data.get("effective_date") or datetime(now.year, now.month, now.day)
    data["transaction_date"] = data.get("transaction_date") or now
    _check(data)
    activity = Activity(contact=contact, **{k: v for k, v in data.items() if v is not None})
    db.session.add(activity)
    db.session.flush()
    audit.record(
        "activity.create",
        "success",
        actor=actor,
        detail={"party_id": contact.imis_id, "activity_id": activity.id},
    )
    return activity


def update_activity(
    activity: Activity, *, actor: str, party_id: object = None, **fields
) -> list[str]:
    """Change an activity's fields (and its party, when given); flush; return what changed.

    A field left out keeps its value; None clears it (a required one is then refused).
    """
    data = _read(fields)
    if party_id is not None:
        contact = party(party_id)
        if contact.id != activity.contact_id:
            data["contact_id"] = contact.id
    checked = ("activity_type", "effective_date", "thru_date")
    _check({name: data.get(name, getattr(activity, name)) for name in checked})
    changed = [name for name, value in data.items() if getattr(activity, name) != value]
    for name in changed:
        setattr(activity, name, data[name])
    if "contact_id" in changed:
        db.session.expire(activity, ["contact"])
    if changed:
        db.session.flush()
        audit.record(
            "activity.update",
            "success",
            actor=actor,
            detail={"activity_id": activity.id, "changed": changed},
        )
    return changed
