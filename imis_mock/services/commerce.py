"""Commerce (invoices, orders, payments): the rules the catalog's commerce entries call.

Invoices are business records holding InvoiceData [I: the fields are those of iMIS's
InvoiceSummaryData as the clients read them: InvoiceId, BillToParty, SoldToParty, InvoiceAmount,
Balance, SourceSystem]. A ComboOrder that pays invoices must name invoices that exist and
reduces their Balance; nothing is stored unless every invoice is found.
"""

from decimal import Decimal

from imis_mock.models import BusinessRecord, Contact
from imis_mock.services import ServiceError, clock, records

INVOICES = "Invoice"
FIRST_INVOICE = 1000
CM = "Asi.Soa.Commerce.DataContracts"
T_INVOICE = f"{CM}.InvoiceData, Asi.Contracts"
T_PARTY = "Asi.Soa.Membership.DataContracts.PartySummaryData, Asi.Contracts"
MONEY = "System.Decimal"


def party_summary(contact: Contact) -> dict:
    return {
        "$type": T_PARTY,
        "PartyId": contact.imis_id,
        "Id": contact.imis_id,
        "Name": contact.full_name,
    }


def money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01")))


def bill(
    contact: Contact, amount: Decimal, description: str, *, source: str = "MEETING"
) -> BusinessRecord | None:
    """Raise an invoice for `amount` to `contact`; None when there is nothing to bill."""
    if amount <= 0:
        return None
    key = records.next_number(INVOICES, FIRST_INVOICE)
    now = clock.now().strftime("%Y-%m-%dT%H:%M:%S")
    data = {
        "$type": T_INVOICE,
        "InvoiceId": key,
        "InvoiceNumber": key,
        "Description": description,
        "SourceSystem": source,
        "InvoiceDate": now,
        "BillToParty": party_summary(contact),
        "SoldToParty": party_summary(contact),
        "BillToPartyId": contact.imis_id,
        "SoldToPartyId": contact.imis_id,
        "InvoiceAmount": money(amount),
        "Balance": money(amount),
        "IsPaid": False,
    }
    return records.put(INVOICES, key, data, contact=contact, status="Open")


def pay(invoice_id: str, amount: Decimal | None) -> BusinessRecord:
    """Apply a payment to an invoice (the whole balance when amount is None). Caller commits."""
    row = records.find(INVOICES, str(invoice_id or ""))
    if row is None:
        raise ServiceError(f"The invoice '{invoice_id}' was not found.", "InvoiceId")
    balance = Decimal(str(row.data.get("Balance", 0)))
    amount = balance if amount is None else amount
    if amount <= 0:
        raise ServiceError("A payment must be more than zero.", "Amount")
    if amount > balance:
        raise ServiceError(
            f"The payment ({money(amount)}) is more than the balance of invoice "
            f"'{row.key}' ({money(balance)}).",
            "Amount",
        )
    left = balance - amount
    row.data = {**row.data, "Balance": money(left), "IsPaid": left == 0}
    row.status = "Paid" if left == 0 else "Open"
    return row
