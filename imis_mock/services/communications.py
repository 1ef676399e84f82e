"""Communications: the mock records them and sends nothing.

A Communication written through the API is kept as CommunicationData; the QA console lists it
as "would have sent", with the recipients found in it: addresses and party ids under any key
whose name says recipient/to/cc/bcc, and the parties of a `PartyId` [I: iMIS resolves
recipients from a query at send time; the mock shows what the body named].
"""

import re

from imis_mock.models import BusinessRecord
from imis_mock.services import records

COMMUNICATIONS = "Communication"
_RECIPIENT_KEYS = re.compile(r"(recipient|^to$|^cc$|^bcc$|emailaddress|^partyid$)", re.I)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _walk(value, under_recipient: bool, found: list[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("$type",):
                continue
            _walk(item, under_recipient or bool(_RECIPIENT_KEYS.search(str(key))), found)
    elif isinstance(value, list):
        for item in value:
            _walk(item, under_recipient, found)
    elif isinstance(value, str) and under_recipient and value.strip():
        for part in re.split(r"[;,]", value):
            part = part.strip()
            if part and (_EMAIL.match(part) or part.isdigit()) and part not in found:
                found.append(part)


def recipients(data: dict) -> list[str]:
    """The addresses and party ids a communication names (party ids shown with their email)."""
    found: list[str] = []
    _walk(data, False, found)
    shown = []
    for item in found:
        contact = records.party(item) if item.isdigit() else None
        shown.append(f"{contact.full_name} <{contact.email}>" if contact else item)
    return shown


def would_have_sent() -> list[tuple[BusinessRecord, list[str]]]:
    """Every recorded communication with its recipients, newest first (QA console)."""
    rows = records.of_entity(COMMUNICATIONS)
    return [(row, recipients(row.data)) for row in reversed(rows)]
