"""Events (reference §9): Event, EventSummary, EventFunction (ids like ANNCONF/BREAK),
EventRegistration (`{EventId}-{PartyId}`), EventRegistrationSummary, PartyEventAvailability
(`~{PartyId}|{EventId}`), and RegisterEvent / CancelEventRegistration through
`POST /api/EventRegistration/_execute`. The rules are in services/events.py.
"""

from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from imis_mock.api.catalog.records import READS, record_entity, spec, summary
from imis_mock.api.engine import access
from imis_mock.api.engine.bodies import Body, text
from imis_mock.api.engine.entity import ALL_VERBS, Prop
from imis_mock.api.engine.errors import ApiError, Invalid, NotFound
from imis_mock.api.engine.wire import contract
from imis_mock.extensions import db
from imis_mock.models import BusinessRecord, Contact
from imis_mock.services import ServiceError, events, records

EV = "Asi.Soa.Events.DataContracts"


EVENT_SPEC = spec(
    "Event",
    EV,
    "EventId",
    "An event: a conference, seminar or course, with its functions and options.",
    (
        "EventCode",
        "Name",
        "Status",
        "StartDateTime",
        ("Category", "String", "Category.EventCategoryId"),
    ),
    status="Status",
    new_key=None,
    after_write=events.sync_functions,
    before_remove=events.before_remove,
)
SUMMARY_DROPS = (
    "Functions",
    "RegistrationOptions",
    "AdditionalAttributes",
    "DisplayLayouts",
    "ProgramGroupInfo",
    "Registrant",
    "RelatedRegistrations",
)


def _executor(operation):
    """Run a service call for _execute: a broken rule is ValidationResultsData (400)."""

    def run(caller, body: Body):
        try:
            row = operation(caller, body)
        except ServiceError as error:
            db.session.rollback()
            if isinstance(error, ApiError):
                raise
            raise Invalid(error.message) from None
        except IntegrityError:
            # Two writers took the same registration or invoice number at once: nothing stored.
            db.session.rollback()
            raise Invalid("The registration conflicts with another one; try again.") from None
        db.session.commit()
        return row.data

    return run


def _check_own(caller, *party_ids: str) -> None:
    """A member acts for their own party only: registers, is billed and cancels [I]."""
    if access.is_staff(caller):
        return
    for party_id in party_ids:
        contact = records.party(party_id) if party_id else None
        if party_id and (contact is None or contact.id != caller.contact_id):
            raise access.AccessDenied()


def _register(caller, body: Body):
    option = body.get("RegistrationOptionFunctionId") or body.get("FunctionId") or ""
    registrant = body.get("RegistrantId") or body.get("PartyId")
    registrant = text(registrant, "RegistrantId", limit=20, required=True)
    bill_to = text(body.get("BillTo"), "BillTo", limit=20)
    _check_own(caller, registrant, bill_to)
    return events.register(
        text(body.get("EventId"), "EventId", limit=200, required=True),
        registrant,
        option_id=text(option, "RegistrationOptionFunctionId", limit=200),
        registered_by=text(body.get("RegisteredBy"), "RegisteredBy", limit=20),
        bill_to=bill_to,
    )


def _cancel(caller, body: Body):
    parameters = body.items("Parameters")
    first = parameters[0] if parameters else body.get("EventRegistrationId")
    if isinstance(first, Body):
        first = first.get("EventRegistrationId")
    key = text(first, "EventRegistrationId", limit=200, required=True)
    if not access.is_staff(caller):
        row = records.find(events.REGISTRATIONS, key)
        if row is None or row.contact_id != caller.contact_id:
            # A registration the member may not see and a missing one look alike (access.py).
            raise access.AccessDenied()
    return events.cancel(key)


EVENT_ID = Prop("EventId", column=BusinessRecord.parent_key)
PARTY_ID = Prop(
    "PartyId",
    column=select(Contact.imis_id).where(Contact.id == BusinessRecord.contact_id).scalar_subquery(),
)
REGISTRATION_SPEC = spec(
    "EventRegistration",
    EV,
    "EventRegistrationId",
    "A party's registration for an event, `{EventId}-{PartyId}`; Status 1 is active.",
    ("RegistrationDate", ("Status", "Integer", "Status")),
    # Filtered on the columns, not the JSON: PM-V2.1's bodies name the event and the party only
    # inside Event and Registrant.
    aliases={"EventId": EVENT_ID, "PartyId": PARTY_ID, "RegistrantId": PARTY_ID},
    party="PartyId",
    parent="EventId",
    status="Status",
    new_key=None,
    # No plain POST: registrations are made through _execute (§9.2) [C].
    verbs=ALL_VERBS - {"create"},
    operations={
        "registerevent": _executor(_register),
        "canceleventregistration": _executor(_cancel),
    },
)


def _availability(caller, key: str) -> dict:
    """PartyEventAvailability for `~{PartyId}|{EventId}`, computed from the event's rules."""
    parts = key.strip().lstrip("~").split("|")
    if len(parts) != 2 or not all(parts):
        raise Invalid(f"'{key}' is not a PartyEventAvailability id (~PartyId|EventId).")
    party_id, event_id = parts
    contact = records.party(party_id)
    if not access.is_staff(caller) and (contact is None or contact.id != caller.contact_id):
        raise access.AccessDenied()
    event = records.find("Event", event_id)
    if contact is None or event is None:
        raise NotFound(f"No PartyEventAvailability was found with the id '{key}'.")
    reason = events.closed_reason(event.data)
    registration = records.find("EventRegistration", f"{event.key}-{contact.imis_id}")
    registered = registration is not None and registration.status == str(events.ACTIVE)
    capacity = int(event.data.get("Capacity") or 0)
    full = bool(capacity) and len(events.active_registrations(event.key)) >= capacity
    return {
        "$type": contract(EV, "PartyEventAvailabilityData"),
        "PartyId": contact.imis_id,
        "EventId": event.key,
        "IsAvailable": not (reason or full or registered),
        "IsRegistered": registered,
        "IsFull": full,
        "Message": reason or ("The event is full." if full else ""),
    }


# No stored rows: the list is empty and GET by id computes the answer [I].
AVAILABILITY = replace(
    record_entity(
        spec(
            "PartyEventAvailability",
            EV,
            "PartyId",
            "Whether a party may register for an event: `~{PartyId}|{EventId}` (computed).",
            ("EventId",),
            verbs=READS,
        )
    ),
    to_wire=lambda data: data,
    load=_availability,
)
FUNCTION_SPEC = spec(
    "EventFunction",
    EV,
    "EventFunctionId",
    "A function of an event (`ANNCONF/BREAK`), kept in step with the event.",
    ("EventFunctionCode",),
    identity="slash",
    aliases={"EventId": EVENT_ID},
    verbs=READS,
)
ENTITIES = (
    *(
        record_entity(s)
        for s in (
            EVENT_SPEC,
            summary(
                EVENT_SPEC,
                "EventSummary",
                "An event without its functions.",
                summary_drops=SUMMARY_DROPS,
                verbs=READS | {"delete"},
            ),
            FUNCTION_SPEC,
            REGISTRATION_SPEC,
            summary(
                REGISTRATION_SPEC,
                "EventRegistrationSummary",
                "A registration without its functions, by EventId and PartyId.",
                summary_drops=SUMMARY_DROPS,
            ),
        )
    ),
    AVAILABILITY,
)
