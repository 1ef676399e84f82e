"""Communications: Communication (recorded, never sent: the QA console shows it as "would have
sent"), CommunicationType, the Campaign/Appeal/Solicitation/SourceCode summaries,
FormDefinition and Message. Plain records: no behaviour beyond storing what was written.
"""

from imis_mock.api.catalog.records import Spec, record_entity
from imis_mock.api.engine.wire import CORE, contract

COMM = "Asi.Soa.Communications.DataContracts"
FR = "Asi.Soa.Fundraising.DataContracts"


def _plain(name, namespace, id_prop, description, filters=(), new_key="guid", **kw):
    return record_entity(
        Spec(
            name=name,
            contract=contract(namespace, f"{name}Data"),
            id_prop=id_prop,
            description=description,
            filters=filters,
            new_key=new_key,
            **kw,
        )
    )


ENTITIES = (
    _plain(
        "Communication",
        COMM,
        "CommunicationId",
        "An email or letter template; the mock records it and sends nothing.",
        (
            ("Name", "String", "Name"),
            ("Path", "String", "Path"),
            ("DocumentVersionKey", "String", "DocumentVersionKey"),
            ("Subject", "String", "Subject"),
        ),
    ),
    _plain(
        "CommunicationType",
        COMM,
        "CommunicationTypeId",
        "A reason a contact is written to, with its opt-in default.",
        (("ReasonCode", "String", "ReasonCode"), ("Name", "String", "Name")),
    ),
    _plain(
        "CampaignSummary",
        FR,
        "CampaignId",
        "A fundraising campaign.",
        (("Name", "String", "Name"), ("CampaignCode", "String", "CampaignCode")),
    ),
    _plain(
        "AppealSummary",
        FR,
        "AppealId",
        "An appeal of a campaign.",
        (("Name", "String", "Name"), ("AppealCode", "String", "AppealCode")),
    ),
    _plain(
        "SolicitationSummary",
        FR,
        "SolicitationId",
        "A solicitation of an appeal.",
        (("Name", "String", "Name"),),
    ),
    _plain(
        "SourceCodeSummary",
        FR,
        "SourceCodeId",
        "A source code that tracks a response.",
        (("Name", "String", "Name"), ("SourceCode", "String", "SourceCode")),
    ),
    _plain(
        "FormDefinition",
        CORE,
        "FormDefinitionId",
        "A form's definition.",
        (("Name", "String", "Name"),),
    ),
    _plain(
        "Message",
        COMM,
        "MessageId",
        "A message queued to a party (recorded, not sent).",
        (("Subject", "String", "Subject"),),
    ),
)
