"""Communications: Communication (recorded, never sent: the QA console shows it as "would have
sent"), CommunicationType, the Campaign/Appeal/Solicitation/SourceCode summaries,
FormDefinition and Message. Plain records: no behaviour beyond storing what was written.
"""

from imis_mock.api.catalog.records import record_entity, spec
from imis_mock.api.engine.wire import CORE

COMM = "Asi.Soa.Communications.DataContracts"
FR = "Asi.Soa.Fundraising.DataContracts"

SPECS = (
    spec(
        "Communication",
        COMM,
        "CommunicationId",
        "An email or letter template; the mock records it and sends nothing.",
        ("Name", "Path", "DocumentVersionKey", "Subject"),
    ),
    spec(
        "CommunicationType",
        COMM,
        "CommunicationTypeId",
        "A reason a contact is written to, with its opt-in default.",
        ("ReasonCode", "Name"),
    ),
    spec("CampaignSummary", FR, "CampaignId", "A fundraising campaign.", ("Name", "CampaignCode")),
    spec("AppealSummary", FR, "AppealId", "An appeal of a campaign.", ("Name", "AppealCode")),
    spec("SolicitationSummary", FR, "SolicitationId", "A solicitation of an appeal.", ("Name",)),
    spec(
        "SourceCodeSummary",
        FR,
        "SourceCodeId",
        "A source code that tracks a response.",
        ("Name", "SourceCode"),
    ),
    spec("FormDefinition", CORE, "FormDefinitionId", "A form's definition.", ("Name",)),
    spec(
        "Message",
        COMM,
        "MessageId",
        "A message queued to a party (recorded, not sent).",
        ("Subject",),
    ),
)
ENTITIES = tuple(record_entity(s) for s in SPECS)
