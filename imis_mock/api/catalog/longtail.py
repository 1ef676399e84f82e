"""The long tail: PartyImage and PartyNote (a party's own), ImportBatch (rows applied or
reported), Tag, SocialNetwork, Country, GenTable, and fundraising (DonationCommitment,
ExpectedPayment, ExpectedPaymentSet, Gift, Pledge) as the published collections have them.
"""

from imis_mock.api.catalog import records as record_catalog
from imis_mock.api.catalog.records import Spec, record_entity
from imis_mock.api.engine.bodies import Body, short_type
from imis_mock.api.engine.errors import ApiError
from imis_mock.api.engine.wire import CORE, MEMBERSHIP, contract

FR = "Asi.Soa.Fundraising.DataContracts"
READS = frozenset({"list", "get", "haspermission", "changelog", "metadata"})


def _spec(name, namespace, id_prop, description, filters=(), **kw) -> Spec:
    return Spec(
        name=name,
        contract=contract(namespace, f"{name}Data"),
        id_prop=id_prop,
        description=description,
        filters=filters,
        **kw,
    )


PARTY = (("PartyId", "String", "PartyId"),)
PLAIN = (
    _spec("PartyImage", MEMBERSHIP, "PartyImageId", "A party's picture.", PARTY, party="PartyId"),
    _spec(
        "PartyNote",
        MEMBERSHIP,
        "PartyNoteId",
        "A note on a party (staff notes tab).",
        (*PARTY, ("Subject", "String", "Subject")),
        party="PartyId",
    ),
    _spec(
        "Tag",
        CORE,
        "TagId",
        "A tag that marks content and contacts.",
        (("Name", "String", "Name"),),
    ),
    _spec(
        "SocialNetwork",
        MEMBERSHIP,
        "SocialNetworkId",
        "A social network a party links to.",
        (("SocialNetworkName", "String", "SocialNetworkName"),),
    ),
    _spec(
        "Country",
        CORE,
        "CountryCode",
        "A country and its address format.",
        (("CountryName", "String", "CountryName"),),
        new_key=None,
    ),
    _spec(
        "GenTable",
        CORE,
        "GenTableId",
        "A general lookup table row (TableName, Code).",
        (("TableName", "String", "TableName"), ("Code", "String", "Code")),
        identity="slash",
        key_of=lambda b: f"{b.get('TableName') or ''}/{b.get('Code') or ''}".strip("/"),
    ),
    _spec(
        "DonationCommitment",
        FR,
        "DonationCommitmentId",
        "A donor's recurring commitment.",
        (("DonorPartyId", "String", "DonorPartyId"),),
        party="DonorPartyId",
    ),
    _spec(
        "ExpectedPayment",
        FR,
        "ExpectedPaymentId",
        "One payment expected on a commitment.",
        (("DonationCommitmentId", "String", "DonationCommitmentId"),),
    ),
    _spec(
        "ExpectedPaymentSet",
        FR,
        "ExpectedPaymentSetId",
        "A commitment's payment schedule.",
        (("DonationCommitmentId", "String", "DonationCommitmentId"),),
    ),
    _spec(
        "Gift",
        FR,
        "GiftId",
        "A gift (donation) from a party.",
        (("DonorPartyId", "String", "DonorPartyId"),),
        party="DonorPartyId",
    ),
    _spec(
        "Pledge",
        FR,
        "PledgeId",
        "A pledge of future gifts.",
        (("DonorPartyId", "String", "DonorPartyId"),),
        party="DonorPartyId",
    ),
)
_IMPORTABLE = {short_type(spec.contract): spec for spec in PLAIN}


def _apply_rows(body: Body, data: dict) -> None:
    """Apply each row whose `$type` is a contract served here; report the others [I: iMIS
    imports through its own batch types; the mock applies what it can store]."""
    applied, reported = 0, []
    for index, row in enumerate(body.items("Rows") or body.items("Items")):
        kind = short_type(row.type_name or "") if isinstance(row, Body) else ""
        spec = _IMPORTABLE.get(kind)
        if spec is None:
            reported.append(f"Row {index + 1}: '{kind or 'no $type'}' cannot be imported.")
            continue
        try:
            values = record_catalog._reader(spec)(row, None)
            record_catalog._writer(spec)(values, None, None)
        except ApiError as error:
            reported.append(f"Row {index + 1}: {error.message}")
            continue
        applied += 1
    data["Status"] = "Completed" if not reported else "CompletedWithErrors"
    data["RowsApplied"] = applied
    data["Messages"] = {
        "$type": "System.Collections.Generic.List`1[[System.String, mscorlib]], mscorlib",
        "$values": reported,
    }


ENTITIES = (
    *(record_entity(spec) for spec in PLAIN),
    record_entity(
        _spec(
            "ImportBatch",
            CORE,
            "ImportBatchId",
            "A batch of rows to import: each is applied or reported in Messages.",
            (("Status", "String", "Status"), ("Name", "String", "Name")),
            validate=_apply_rows,
        )
    ),
    record_entity(
        _spec(
            "ImportBatchSummary",
            CORE,
            "ImportBatchId",
            "An import batch's status.",
            (("Status", "String", "Status"),),
            summary_of="ImportBatch",
            summary_drops=("Rows", "Items"),
            verbs=READS,
        )
    ),
)
