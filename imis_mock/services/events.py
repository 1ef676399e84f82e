"""Events (reference §9): registering a party for an event and cancelling it.

Events, their functions and registrations are business records holding EventData,
EventFunctionData and EventRegistrationData as iMIS sends them. The rules live here:
an event takes registrations while its Status is "A" (active) and its registration end date has
not passed, up to its Capacity (0: no limit); a registration is `{EventId}-{PartyId}` with
Status 1 while active [C: iMIS-bits]; where the chosen option has a price, registering bills it
on a new invoice (services/commerce.py) whose id the registration carries as
AssociatedInvoiceId [C: the attribute; I: the rule].
"""

from datetime import datetime
from decimal import Decimal, InvalidOperation

from imis_mock.extensions import db
from imis_mock.models import BusinessRecord, Contact
from imis_mock.services import ServiceError, clock, commerce, records

EVENTS = "Event"
FUNCTIONS = "EventFunction"
REGISTRATIONS = "EventRegistration"
ACTIVE = 1
# [I] Any status other than 1 means cancelled [C]; the mock writes 0.
CANCELLED = 0
EV = "Asi.Soa.Events.DataContracts"
T_REGISTRATION = f"{EV}.EventRegistrationData, Asi.Contracts"
T_FUNCTION = f"{EV}.EventFunctionData, Asi.Contracts"
T_FUNCTION_REG = f"{EV}.EventFunctionRegistrationData, Asi.Contracts"
T_QUANTITY = (
    "System.Nullable`1[[Asi.Soa.Commerce.DataContracts.QuantityData, Asi.Contracts]], mscorlib"
)
CORE = "Asi.Soa.Core.DataContracts"


def functions_of(event: dict) -> list[dict]:
    """The event's functions and registration options, each with its EventFunctionId."""
    event_id = str(event.get("EventId", ""))
    found = []
    for name in ("RegistrationOptions", "Functions"):
        collection = event.get(name) or {}
        items = collection.get("$values", []) if isinstance(collection, dict) else collection
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and item.get("EventFunctionCode"):
                item = dict(item)
                item.setdefault("EventFunctionId", f"{event_id}/{item['EventFunctionCode']}")
                found.append(item)
    return found


def sync_functions(event: BusinessRecord) -> None:
    """Keep the EventFunction records (ids like ANNCONF/BREAK) in step with the event."""
    wanted = {f["EventFunctionId"].lower(): f for f in functions_of(event.data)}
    for row in records.children(FUNCTIONS, event.key):
        if row.key.lower() not in wanted:
            db.session.delete(row)
    for key, function in wanted.items():
        row = records.find(FUNCTIONS, key)
        data = {"$type": function.get("$type", T_FUNCTION), **function}
        records.put(FUNCTIONS, function["EventFunctionId"], data, parent_key=event.key, row=row)


def before_remove(event: BusinessRecord) -> None:
    """An event with active registrations is not deleted; its functions go with it."""
    if active_registrations(event.key):
        raise ServiceError(f"The event '{event.key}' has registrations; cancel them first.")
    for row in records.children(FUNCTIONS, event.key):
        db.session.delete(row)
    for row in records.children(REGISTRATIONS, event.key):
        db.session.delete(row)


def active_registrations(event_id: str) -> list[BusinessRecord]:
    return [r for r in records.children(REGISTRATIONS, event_id) if r.status == str(ACTIVE)]


def closed_reason(event: dict) -> str | None:
    """Why an event takes no registrations now, or None when it is open."""
    message = event.get("RegistrationClosedMessage") or "Registration is closed."
    if str(event.get("Status", "A")).upper() != "A":
        return message
    end = event.get("RegistrationEndDate")
    if isinstance(end, str) and end:
        try:
            moment = datetime.fromisoformat(end.replace("Z", "+00:00"))
        except ValueError:
            return None
        now = clock.now()
        if moment.replace(tzinfo=now.tzinfo) < now:
            return message
    return None


def price(option: dict | None) -> Decimal:
    """The option's price [I: iMIS prices functions through their items; the mock reads a
    `Price` or `DefaultPrice` number on the option]."""
    for name in ("Price", "DefaultPrice"):
        value = (option or {}).get(name)
        if isinstance(value, dict):
            value = value.get("$value", value.get("Amount"))
        if value not in (None, ""):
            try:
                return Decimal(str(value))
            except InvalidOperation:
                return Decimal(0)
    return Decimal(0)


def _person(contact: Contact) -> dict:
    return {
        "$type": "Asi.Soa.Membership.DataContracts.PersonData, Asi.Contracts",
        "PartyId": contact.imis_id,
        "Id": contact.imis_id,
        "Name": contact.full_name,
    }


def register(
    event_id: str,
    registrant_id: str,
    *,
    option_id: str = "",
    registered_by: str = "",
    bill_to: str = "",
    registration_type: int | None = None,
) -> BusinessRecord:
    """Register a party for an event (RegisterEvent); bill the option's price. Caller commits."""
    event = records.find(EVENTS, str(event_id or ""))
    if event is None:
        raise ServiceError(f"The event '{event_id}' was not found.", "EventId")
    registrant = records.require_party(registrant_id, "RegistrantId")
    payer = records.require_party(bill_to, "BillTo") if bill_to else registrant
    reason = closed_reason(event.data)
    if reason:
        raise ServiceError(reason, "EventId")
    key = f"{event.key}-{registrant.imis_id}"
    existing = records.find(REGISTRATIONS, key)
    if existing is not None and existing.status == str(ACTIVE):
        raise ServiceError(f"{registrant.full_name} is already registered for {event.key}.")
    capacity = int(event.data.get("Capacity") or 0)
    if capacity and len(active_registrations(event.key)) >= capacity:
        raise ServiceError(f"The event '{event.key}' is full.", "EventId")
    options = {f["EventFunctionId"].lower(): f for f in functions_of(event.data)}
    option = None
    if option_id:
        option = options.get(option_id.lower()) or options.get(f"{event.key}/{option_id}".lower())
        if option is None:
            raise ServiceError(f"The registration option '{option_id}' was not found.")
    amount = price(option)
    invoice = commerce.bill(payer, amount, f"{event.key} registration", source="MEETING")
    functions = []
    if option is not None:
        functions.append(
            {
                "$type": T_FUNCTION_REG,
                "EventFunction": {
                    "$type": T_FUNCTION,
                    **{
                        k: option[k]
                        for k in ("EventFunctionId", "EventFunctionCode", "Name")
                        if k in option
                    },
                    "RegistrationType": registration_type or option.get("RegistrationType", 3),
                    "IsEventRegistrationOption": True,
                },
                "Quantity": {"$type": T_QUANTITY, "Amount": 1},
                "QuantityWaitlisted": {"$type": T_QUANTITY},
            }
        )
    attributes = []
    if invoice is not None:
        attributes.append(
            {
                "$type": f"{CORE}.GenericPropertyData, Asi.Contracts",
                "Name": "AssociatedInvoiceId",
                "Value": invoice.key,
            }
        )
    data = {
        "$type": T_REGISTRATION,
        "EventRegistrationId": key,
        "Status": ACTIVE,
        "RegistrationDate": clock.now().strftime("%Y-%m-%dT%H:%M:%S"),
        "RegisteredByPartyId": str(registered_by or ""),
        "AdditionalAttributes": {
            "$type": f"{CORE}.GenericPropertyDataCollection, Asi.Contracts",
            "$values": attributes,
        },
        "Functions": {
            "$type": f"{EV}.EventFunctionRegistrationDataCollection, Asi.Contracts",
            "$values": functions,
        },
        "RelatedRegistrations": {
            "$type": f"{EV}.EventRegistrationSummaryDataCollection, Asi.Contracts",
            "$values": [],
        },
        "Registrant": _person(registrant),
        "Event": {
            "$type": f"{EV}.EventData, Asi.Contracts",
            "EventId": event.key,
            "Name": event.data.get("Name", ""),
        },
        "EventId": event.key,
        "PartyId": registrant.imis_id,
    }
    row = records.put(
        REGISTRATIONS,
        key,
        data,
        contact=registrant,
        parent_key=event.key,
        status=str(ACTIVE),
        row=existing,
    )
    db.session.flush()
    return row


def cancel(registration_id: str) -> BusinessRecord:
    """Cancel a registration (CancelEventRegistration); its invoice stays [I]. Caller commits."""
    row = records.find(REGISTRATIONS, str(registration_id or ""))
    if row is None:
        raise ServiceError(f"The event registration '{registration_id}' was not found.")
    if row.status != str(ACTIVE):
        raise ServiceError(f"The event registration '{row.key}' is already cancelled.")
    row.data = {**row.data, "Status": CANCELLED}
    row.status = str(CANCELLED)
    db.session.flush()
    return row
