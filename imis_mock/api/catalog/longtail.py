"""The long tail: PartyImage and PartyNote (a party's own), ImportBatch (rows applied or
reported), Tag, SocialNetwork, Country, GenTable, and fundraising (DonationCommitment,
ExpectedPayment, ExpectedPaymentSet, Gift, Pledge) as the published collections have them.
"""

from imis_mock.api.catalog import records as record_catalog
from imis_mock.api.catalog.records import record_entity, spec, summary
from imis_mock.api.engine.bodies import Body, short_type
from imis_mock.api.engine.errors import ApiError
from imis_mock.api.engine.wire import CORE, MEMBERSHIP

FR = "Asi.Soa.Fundraising.DataContracts"
PLAIN = (
    spec(
        "PartyImage",
        MEMBERSHIP,
        "PartyImageId",
        "A party's picture.",
        ("PartyId",),
        party="PartyId",
    ),
    spec(
        "PartyNote",
        MEMBERSHIP,
        "PartyNoteId",
        "A note on a party (staff Notes tab).",
        ("PartyId", "Subject"),
        party="PartyId",
    ),
    spec("Tag", CORE, "TagId", "A tag that marks content and contacts.", ("Name",)),
    spec(
        "SocialNetwork",
        MEMBERSHIP,
        "SocialNetworkId",
        "A social network a party links to.",
        ("SocialNetworkName",),
    ),
    spec(
        "Country",
        CORE,
        "CountryCode",
        "A country and its address format.",
        ("CountryName",),
        new_key=None,
    ),
    spec(
        "GenTable",
        CORE,
        "GenTableId",
        "A general lookup table row: `{TableName}/{Code}`.",
        ("TableName", "Code"),
        identity="slash",
        key_of=lambda b: f"{b.get('TableName') or ''}/{b.get('Code') or ''}".strip("/"),
    ),
    spec(
        "DonationCommitment",
        FR,
        "DonationCommitmentId",
        "A donor's recurring commitment.",
        ("DonorPartyId",),
        party="DonorPartyId",
    ),
    spec(
        "ExpectedPayment",
        FR,
        "ExpectedPaymentId",
        "One payment expected on a commitment.",
        ("DonationCommitmentId",),
    ),
    spec(
        "ExpectedPaymentSet",
        FR,
        "ExpectedPaymentSetId",
        "A commitment's payment schedule.",
        ("DonationCommitmentId",),
    ),
    spec(
        "Gift",
        FR,
        "GiftId",
        "A gift (donation) from a party.",
        ("DonorPartyId",),
        party="DonorPartyId",
    ),
    spec(
        "Pledge",
        FR,
        "PledgeId",
        "A pledge of future gifts.",
        ("DonorPartyId",),
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
            values = record_catalog.reader(spec)(row, None)
            record_catalog.writer(spec)(values, None, None)
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


IMPORT_BATCH = spec(
    "ImportBatch",
    CORE,
    "ImportBatchId",
    "A batch of rows to import: each is applied or reported in Messages.",
    ("Status", "Name"),
    validate=_apply_rows,
)
ENTITIES = tuple(
    record_entity(s)
    for s in (
        *PLAIN,
        IMPORT_BATCH,
        summary(
            IMPORT_BATCH,
            "ImportBatchSummary",
            "An import batch's status.",
            summary_drops=("Rows", "Items"),
        ),
    )
)
