"""Commerce: FinancialEntity, Item (ids like REGULAR_MEMBERSHIP_FEES/ACT), ItemPrice,
PartyItemPrice (`~101|ADDLCHARGES/FREIGHT`), Promotion, Invoice and InvoiceSummary, ComboOrder
(`_validate` answers the normalised order, §4.2) and Cart. Rules: services/commerce.py.
"""

from decimal import Decimal

from imis_mock.api.catalog.records import Spec, record_entity
from imis_mock.api.engine import bodies
from imis_mock.api.engine.bodies import Body
from imis_mock.api.engine.errors import Invalid
from imis_mock.api.engine.wire import contract
from imis_mock.services import ServiceError, commerce

CM = "Asi.Soa.Commerce.DataContracts"
READS = frozenset({"list", "get", "haspermission", "changelog", "metadata"})
INVOICE_FILTERS = (
    ("InvoiceNumber", "String", "InvoiceNumber"),
    ("SourceSystem", "String", "SourceSystem"),
    ("Balance", "Decimal", "Balance"),
    ("InvoiceAmount", "Decimal", "InvoiceAmount"),
    ("SoldToPartyId", "String", "SoldToPartyId"),
    ("BillToPartyId", "String", "BillToPartyId"),
    ("InvoiceDate", "String", "InvoiceDate"),
)


def _can_be_reversed(caller, body: Body) -> dict:
    """CanInvoiceBeReversed (§10.3): an unpaid invoice can be [I]."""
    parameters = body.items("Parameters")
    invoice_id = str(parameters[0]) if parameters else ""
    row = commerce.records.find(commerce.INVOICES, invoice_id)
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


ENTITIES = (
    record_entity(
        Spec(
            name="FinancialEntity",
            contract=contract(CM, "FinancialEntityData"),
            id_prop="FinancialEntityId",
            description="An organisation's accounting entity (GEN, ...).",
            filters=(("Name", "String", "Name"),),
            new_key=None,
        )
    ),
    record_entity(
        Spec(
            name="FinancialEntitySummary",
            contract=contract(CM, "FinancialEntitySummaryData"),
            id_prop="FinancialEntityId",
            description="A financial entity's id and name.",
            filters=(("Name", "String", "Name"),),
            summary_of="FinancialEntity",
            verbs=READS,
        )
    ),
    record_entity(
        Spec(
            name="Item",
            contract=contract(CM, "ItemData"),
            id_prop="ItemId",
            description="A product, fee or function item; ids may hold '/' (DUES/ACT).",
            identity="slash",
            filters=(
                ("ItemCode", "String", "ItemCode"),
                ("Name", "String", "Name"),
                ("ItemClass", "String", "ItemClass.ItemClassId"),
            ),
            new_key=None,
        )
    ),
    record_entity(
        Spec(
            name="ItemPrice",
            contract=contract(CM, "ItemPriceData"),
            id_prop="ItemPriceId",
            description="An item's price list entry.",
            identity="slash",
            filters=(("ItemId", "String", "ItemId"),),
        )
    ),
    record_entity(
        Spec(
            name="PartyItemPrice",
            contract=contract(CM, "PartyItemPriceData"),
            id_prop="PartyItemPriceId",
            description="A party's own price for an item: `~{PartyId}|{ItemId}`.",
            identity="slash",
            filters=(("PartyId", "String", "PartyId"), ("ItemId", "String", "ItemId")),
            key_of=lambda body: f"~{body.get('PartyId') or ''}|{body.get('ItemId') or ''}",
            party="PartyId",
        )
    ),
    record_entity(
        Spec(
            name="Promotion",
            contract=contract(CM, "PromotionData"),
            id_prop="PromotionCode",
            description="A promotion code and its discount.",
            filters=(("Name", "String", "Name"),),
            new_key=None,
        )
    ),
    record_entity(
        Spec(
            name="Invoice",
            contract=contract(CM, "InvoiceData"),
            id_prop="InvoiceId",
            description="An invoice; registering for a priced event raises one.",
            filters=INVOICE_FILTERS,
            aliases={"PartyId": "BillToPartyId"},
            party="BillToPartyId",
            new_key=commerce.FIRST_INVOICE,
            operations={"caninvoicebereversed": _can_be_reversed},
        )
    ),
    record_entity(
        Spec(
            name="InvoiceSummary",
            contract=contract(CM, "InvoiceSummaryData"),
            id_prop="InvoiceId",
            description="An invoice's totals: filter by SourceSystem, Balance, SoldToPartyId.",
            filters=INVOICE_FILTERS,
            aliases={"PartyId": "BillToPartyId"},
            party="BillToPartyId",
            summary_of="Invoice",
            verbs=READS,
        )
    ),
    record_entity(
        Spec(
            name="ComboOrder",
            contract=contract(CM, "ComboOrderData"),
            id_prop="OrderId",
            description="An order with its payments; `_validate` answers the normalised order.",
            filters=(("PartyId", "String", "Order.SoldToCustomerParty.PartyId"),),
            new_key=1,
            validate=_pay_invoices,
        )
    ),
    record_entity(
        Spec(
            name="Cart",
            contract=contract(CM, "CartData"),
            id_prop="CartId",
            description="A shopping cart, one per user.",
            filters=(("UserId", "String", "UserId"),),
        )
    ),
)
