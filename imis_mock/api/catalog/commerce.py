"""Commerce: FinancialEntity, Item (ids like REGULAR_MEMBERSHIP_FEES/ACT), ItemPrice,
PartyItemPrice (`~101|ADDLCHARGES/FREIGHT`), Promotion, Invoice and InvoiceSummary, ComboOrder
(`_validate` answers the normalised order, §4.2) and Cart. Rules: services/commerce.py.
"""

from decimal import Decimal

from imis_mock.api.catalog.records import record_entity, spec, summary
from imis_mock.api.engine import bodies
from imis_mock.api.engine.bodies import Body
from imis_mock.api.engine.errors import Invalid
from imis_mock.services import ServiceError, commerce, records

CM = "Asi.Soa.Commerce.DataContracts"


def _can_be_reversed(caller, body: Body) -> dict:
    """CanInvoiceBeReversed (§10.3): an unpaid invoice can be [I]."""
    parameters = body.items("Parameters")
    invoice_id = str(parameters[0]) if parameters else ""
    row = records.find(commerce.INVOICES, invoice_id)
    if row is None:
        raise Invalid(f"The invoice '{invoice_id}' was not found.")
    return {"$type": "System.Boolean", "$value": not row.data.get("IsPaid", False)}


def _pay_invoices(body: Body, data: dict) -> None:
    """A ComboOrder's Invoices are paid (their whole balance, or PaymentAmount) [I]."""
    for item in body.items("Invoices"):
        if not isinstance(item, Body):
            continue
        amount = bodies.decimal(item.get("PaymentAmount"), "PaymentAmount")
        try:
            commerce.pay(str(item.get("InvoiceId") or ""), Decimal(amount) if amount else None)
        except ServiceError as error:
            raise Invalid(error.message) from None


def _update_pricing(caller, body: Body) -> dict:
    """Order/_execute UpdatePricing (OrderPriceUpdateRequest): the order, priced [C: a public
    client calls it before PUTting its cart; I: the prices' field names]."""
    order = body.get("Order")
    if not isinstance(order, Body):
        raise Invalid("Order is required.")
    return commerce.price_order(order.data)


FINANCIAL_ENTITY = spec(
    "FinancialEntity",
    CM,
    "FinancialEntityId",
    "An accounting entity (GEN, ...).",
    ("Name",),
    new_key=None,
)
ITEM = spec(
    "Item",
    CM,
    "ItemId",
    "A product, fee or function item; ids may hold '/' (DUES/ACT).",
    ("ItemCode", "Name", ("ItemClass", "String", "ItemClass.ItemClassId")),
    identity="slash",
    new_key=None,
)
INVOICE = spec(
    "Invoice",
    CM,
    "InvoiceId",
    "An invoice; registering for a priced event raises one.",
    (
        "InvoiceNumber",
        "SourceSystem",
        "SoldToPartyId",
        "BillToPartyId",
        "InvoiceDate",
        ("Balance", "Decimal", "Balance"),
        ("InvoiceAmount", "Decimal", "InvoiceAmount"),
    ),
    aliases={"PartyId": "BillToPartyId"},
    party="BillToPartyId",
    new_key=commerce.FIRST_INVOICE,
    operations={"caninvoicebereversed": _can_be_reversed},
)
SPECS = (
    FINANCIAL_ENTITY,
    summary(FINANCIAL_ENTITY, "FinancialEntitySummary", "A financial entity's id and name."),
    ITEM,
    summary(ITEM, "ItemSummary", "An item's code, name and class."),
    spec(
        "Order",
        CM,
        "OrderId",
        "An order; `_execute` UpdatePricing prices its lines.",
        (("PartyId", "String", "SoldToCustomerParty.PartyId"),),
        new_key=1,
        operations={"updatepricing": _update_pricing},
    ),
    spec(
        "ItemPrice", CM, "ItemPriceId", "An item's price list entry.", ("ItemId",), identity="slash"
    ),
    spec(
        "PartyItemPrice",
        CM,
        "PartyItemPriceId",
        "A party's own price for an item: `~{PartyId}|{ItemId}`.",
        ("PartyId", "ItemId"),
        identity="slash",
        party="PartyId",
        key_of=lambda body: f"~{body.get('PartyId') or ''}|{body.get('ItemId') or ''}",
    ),
    spec(
        "Promotion",
        CM,
        "PromotionCode",
        "A promotion code and its discount.",
        ("Name",),
        new_key=None,
    ),
    INVOICE,
    summary(INVOICE, "InvoiceSummary", "An invoice's totals: by SourceSystem, Balance, party."),
    spec(
        "ComboOrder",
        CM,
        "OrderId",
        "An order with its payments; `_validate` answers the normalised order.",
        (("PartyId", "String", "Order.SoldToCustomerParty.PartyId"),),
        new_key=1,
        validate=_pay_invoices,
    ),
    # A member's own cart: iMIS pages post it with the member's token [C: a public client].
    spec(
        "Cart",
        CM,
        "CartId",
        "A shopping cart, one per user.",
        ("UserId",),
        party="UserId",
        member_writes=frozenset({"create", "replace", "delete"}),
    ),
)
ENTITIES = tuple(record_entity(s) for s in SPECS)
