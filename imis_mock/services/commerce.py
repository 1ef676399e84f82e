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


def _number(value) -> Decimal:
    """A stored amount: a bare number or a typed scalar ({"$type": ..., "$value": 25.0})."""
    if isinstance(value, dict):
        value = value.get("$value", value.get("Amount"))
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal(0)
    except ArithmeticError:
        return Decimal(0)


def price_of(item_id: str, party_id: str = "") -> Decimal:
    """An item's price for a party: their PartyItemPrice, else the ItemPrice's DefaultPrice,
    else the item's own Price [I: iMIS's pricing has more rules (price groups, promotions)]."""
    if party_id:
        own = records.find("PartyItemPrice", f"~{party_id}|{item_id}")
        if own is not None:
            return _number(own.data.get("Price"))
    listed = records.find("ItemPrice", item_id) or records.find_by("ItemPrice", "ItemId", item_id)
    if listed is not None:
        return _number(listed.data.get("DefaultPrice") or listed.data.get("Price"))
    item = records.find("Item", item_id)
    return _number(item.data.get("Price")) if item is not None else Decimal(0)


def price_order(order: dict) -> dict:
    """Price an OrderData's lines (UpdatePricing): UnitPrice and ExtendedAmount on each line,
    LineTotal and OrderTotal on the order. Returns a new dict; nothing is stored."""
    order = dict(order)
    party_id = str((order.get("SoldToCustomerParty") or {}).get("PartyId") or "")
    lines = order.get("Lines") or {}
    values = lines.get("$values", []) if isinstance(lines, dict) else lines
    total, priced = Decimal(0), []
    for line in values if isinstance(values, list) else []:
        if not isinstance(line, dict):
            continue
        item = line.get("Item") or {}
        item_id = str(item.get("ItemId") or item.get("ItemCode") or "")
        quantity = _number(line.get("QuantityOrdered")) or Decimal(1)
        unit = price_of(item_id, party_id)
        total += unit * quantity
        priced.append({**line, "UnitPrice": money(unit), "ExtendedAmount": money(unit * quantity)})
    if isinstance(lines, dict):
        order["Lines"] = {**lines, "$values": priced}
    else:
        order["Lines"] = priced
    order["LineTotal"] = money(total)
    order["OrderTotal"] = money(total)
    return order
