"""Demo data: one staff account and several members with iMIS-looking contacts.

load() is idempotent: it creates only what is missing, so running it twice changes nothing.
The passwords are for a local mock only and are listed in README.md.
"""

from datetime import date

from flask import current_app
from sqlalchemy import select

from imis_mock.extensions import db
from imis_mock.models import Activity, Contact, ContentFolder, ContentRecord, PartyStatus
from imis_mock.services import (
    accounts,
    activities,
    clients,
    content,
    groups,
    iqa,
    panels,
    parties,
)

STAFF_PASSWORD = "Staff-Demo-2026"
MEMBER_PASSWORD = "Member-Demo-2026"

STAFF = {
    "username": "MANAGER",
    "imis_id": "23001",
    "first_name": "Morgan",
    "last_name": "Reyes",
    "email": "manager@example.org",
    "title": "Membership Manager",
    "organization": "Example Association",
}

MEMBERS = [
    {
        "username": "jsmith",
        "imis_id": "23179",
        "prefix": "Ms.",
        "first_name": "Jane",
        "last_name": "Smith",
        "email": "jsmith@example.org",
        "phone": "(416) 555-0100",
        "organization": "Versaton",
        "title": "Analyst",
        "address_line": "1 Main St",
        "city": "Toronto",
        "region": "ON",
        "postal_code": "M5V 1A1",
        "country_code": "CA",
        "join_date": date(2000, 6, 18),
    },
    {
        "username": "rjones",
        "imis_id": "23180",
        "prefix": "Dr.",
        "first_name": "Robert",
        "last_name": "Jones",
        "informal_name": "Bob",
        "email": "rjones@example.org",
        "phone": "(312) 555-0142",
        "organization": "Lakeside Clinic",
        "title": "Physician",
        "address_line": "200 W Adams St",
        "city": "Chicago",
        "region": "IL",
        "postal_code": "60606",
        "country_code": "US",
        "join_date": date(2012, 3, 1),
    },
    {
        "username": "apatel",
        "imis_id": "23181",
        "prefix": "Mrs.",
        "first_name": "Anika",
        "last_name": "Patel",
        "email": "anika.patel@example.org",
        "phone": "(604) 555-0175",
        "organization": "Coastline Engineering",
        "title": "Project Lead",
        "address_line": "55 Water St",
        "city": "Vancouver",
        "region": "BC",
        "postal_code": "V6B 1A1",
        "country_code": "CA",
        "join_date": date(2019, 9, 15),
    },
    {
        "username": "mchen",
        "imis_id": "23182",
        "prefix": "Mr.",
        "first_name": "Michael",
        "last_name": "Chen",
        "email": "mchen@example.org",
        "phone": "(206) 555-0133",
        "member_type": "NM",
        "city": "Seattle",
        "region": "WA",
        "country_code": "US",
    },
]


# Party statuses (the REST API's PartyStatus lookup entity) and an organization with staff:
# Versaton employs the member jsmith and Liam Ortiz, who has no login.
PARTY_STATUSES = [
    ("A", "Active", "Active", "Active"),
    ("I", "Inactive", "Inactive", "Inactive"),
    ("D", "Deceased", "Deceased", "Inactive"),
]
ORGANIZATION = {
    "imis_id": "23100",
    "organization": "Versaton",
    "email": "info@versaton.example.org",
    "phone": "(416) 555-0190",
    "address_line": "100 King St W",
    "city": "Toronto",
    "region": "ON",
    "postal_code": "M5X 1A9",
    "country_code": "CA",
    "member_type": "CM",
    "join_date": date(1998, 1, 12),
}
ORGANIZATION_STAFF = {
    "imis_id": "23183",
    "prefix": "Mr.",
    "first_name": "Liam",
    "last_name": "Ortiz",
    "email": "lortiz@versaton.example.org",
    "phone": "(416) 555-0191",
    "title": "Director",
    "member_type": "NM",
    "city": "Toronto",
    "region": "ON",
    "country_code": "CA",
}


def load_parties() -> None:
    """Create the party statuses and the organization with its staff, if missing."""
    for code, name, description, active in PARTY_STATUSES:
        if db.session.get(PartyStatus, code) is None:
            db.session.add(
                PartyStatus(code=code, name=name, description=description, active_status=active)
            )
    organization = db.session.scalar(
        select(Contact).where(Contact.imis_id == ORGANIZATION["imis_id"])
    )
    if organization is None:
        organization = parties.create_party(
            {"is_organization": True, **ORGANIZATION}, employer_imis_id=None, actor="MANAGER"
        )
        organization.imis_id = ORGANIZATION["imis_id"]
    if db.session.scalar(select(Contact).where(Contact.imis_id == ORGANIZATION_STAFF["imis_id"])):
        return
    staff = parties.create_party(
        ORGANIZATION_STAFF, employer_imis_id=organization.imis_id, actor="MANAGER"
    )
    staff.imis_id = ORGANIZATION_STAFF["imis_id"]
    member = db.session.scalar(select(Contact).where(Contact.imis_id == MEMBERS[0]["imis_id"]))
    if member is not None:
        member.organization_party_id = organization.id
    db.session.flush()


# Content records (the demo has no client application and no Single Sign-On record).
MEMBERS_FOLDER = "Members"
CONTENT = [
    {
        "folder": None,
        "title": "About the Association",
        "publish_file_name": "About",
        "html": "<p>Example Association is a mock iMIS site for trying Single Sign-On.</p>"
        '<p>Members: see <a href="/Members/Benefits.aspx">Member benefits</a>.</p>',
    },
    {
        "folder": MEMBERS_FOLDER,
        "title": "Member benefits",
        "publish_file_name": "Benefits",
        "requires_login": True,
        "html": "<p>Welcome, member. This page is in the secure Members folder: "
        "only signed-in visitors see it.</p>",
    },
]


def load_content() -> None:
    """Create the secure Members folder and the demo content records, if missing."""
    folder = db.session.scalar(
        select(ContentFolder).where(
            ContentFolder.parent_id.is_(None), ContentFolder.name_key == MEMBERS_FOLDER.lower()
        )
    )
    if folder is None:
        folder = content.create_folder(
            MEMBERS_FOLDER, None, is_secure=True, actor=STAFF["username"]
        )
    for spec in CONTENT:
        parent = folder if spec["folder"] else None
        key = content.path_key(parent, spec["publish_file_name"])
        if db.session.scalar(select(ContentRecord).where(ContentRecord.path_key == key)):
            continue
        record = content.create_record(
            spec["title"], spec["publish_file_name"], parent, actor=STAFF["username"]
        )
        content.add_item(record, content.CONTENT_HTML, name="Welcome text", html=spec["html"])
        record.requires_login = spec.get("requires_login", False)
        content.publish_record(record, actor=STAFF["username"])


# The sample third-party app (sample_app/) is registered with these; its defaults match them.
SAMPLE_CLIENT_ID = "SampleApp"
SAMPLE_CLIENT_SECRET = "SampleApp-demo-secret-not-for-production"
SAMPLE_RECORD_TITLE = "Launch Sample App"


def load_sample_app() -> None:
    """Register the sample app as a client application and publish its Single Sign-On record.

    The record is /SampleApp.aspx: the Client ID as the publish file name, as the Laravel
    Socialite iMIS provider expects. Its Login redirect URL comes from DEMO_SAMPLE_APP_URL.
    """
    client = clients.find_client(SAMPLE_CLIENT_ID) or clients.create_client(
        SAMPLE_CLIENT_ID,
        SAMPLE_CLIENT_SECRET,
        30,
        current_app.config["DEMO_SAMPLE_APP_URL"],
        actor=STAFF["username"],
    )
    key = content.path_key(None, SAMPLE_CLIENT_ID)
    if db.session.scalar(select(ContentRecord).where(ContentRecord.path_key == key)):
        return
    record = content.create_record(
        SAMPLE_RECORD_TITLE, SAMPLE_CLIENT_ID, None, actor=STAFF["username"]
    )
    content.add_item(record, content.SSO, name="Sample App", client_application_id=client.id)
    record.is_secure = True
    record.requires_login = True
    content.publish_record(record, actor=STAFF["username"])


# Activities: dues, a meeting, an application, and course completions as an LMS writes them
# (SOURCE_SYSTEM "LMS", the course code as PRODUCT_CODE, the credit hours as UNITS).
ACTIVITIES = [
    {
        "party_id": "23179",
        "activity_type": "DUES",
        "effective_date": date(2026, 1, 1),
        "thru_date": date(2026, 12, 31),
        "description": "2026 annual dues",
        "source_system": "DUES",
        "product_code": "REGULAR",
        "amount": "150.00",
    },
    {
        "party_id": "23179",
        "activity_type": "COURSE",
        "effective_date": date(2026, 11, 20),
        "description": "Course completed: Ethics in Practice",
        "source_system": "LMS",
        "source_code": "LMS-ENROLL-88412",
        "product_code": "ETHICS101",
        "category": "CE",
        "units": "3.00",
        "note": "Completed with a score of 92%.",
    },
    {
        "party_id": "23179",
        "activity_type": "MEETING",
        "effective_date": date(2026, 5, 14),
        "description": "Attended Annual Conference 2026",
        "source_system": "MEETING",
        "product_code": "ANNCONF26",
    },
    {
        "party_id": "23180",
        "activity_type": "DUES",
        "effective_date": date(2026, 3, 1),
        "thru_date": date(2027, 2, 28),
        "description": "2026 annual dues",
        "source_system": "DUES",
        "product_code": "REGULAR",
        "amount": "150.00",
    },
    {
        "party_id": "23180",
        "activity_type": "COURSE",
        "effective_date": date(2026, 10, 2),
        "description": "Course completed: Patient Safety Essentials",
        "source_system": "LMS",
        "source_code": "LMS-ENROLL-87120",
        "product_code": "SAFETY200",
        "category": "CE",
        "units": "1.50",
    },
    {
        "party_id": "23182",
        "activity_type": "ONLINEAPP",
        "effective_date": date(2026, 9, 8),
        "description": "Online membership application received",
        "source_system": "WEB",
    },
]

COMMITTEE_CLASS = {
    "class_id": "6F1C2A4E-3B8D-4E2F-9A61-0C5D7B8E9F10",
    "name": "Committee",
    "description": "Committees of volunteers",
}
ROLES = [
    {"role_id": "A1E5C0D2-7F3B-4C9A-8E21-5D6B7C8A9F01", "name": "Chair", "priority": 10},
    {"role_id": "B2F6D1E3-8A4C-4DAB-9F32-6E7C8D9BA012", "name": "Vice Chair", "priority": 20},
    {"role_id": "C3A7E2F4-9B5D-4EBC-AF43-7F8D9EACB123", "name": "Secretary", "priority": 30},
]
# Each group with its members: (party, role names, join date).
GROUPS = [
    {
        "group_id": "0B7E5C1A-2D3F-4A6B-8C9D-1E2F3A4B5C6D",
        "name": "Board of Directors",
        "description": "The association's elected board",
        "group_class_id": COMMITTEE_CLASS["class_id"],
        "members": [
            ("23179", ["Chair"], date(2024, 1, 15)),
            ("23180", ["Vice Chair", "Member"], date(2022, 1, 15)),
            ("23001", ["Secretary"], date(2024, 1, 15)),
        ],
    },
    {
        "group_id": "ETHICS101",
        "name": "Ethics in Practice (online course)",
        "description": "People enrolled in the ETHICS101 course",
        "group_class_id": groups.PURCHASED_PRODUCTS_CLASS_ID,
        "members": [
            ("23179", ["Member"], date(2026, 10, 5)),
            ("23181", ["Member"], date(2026, 11, 12)),
        ],
    },
]


def load_activities() -> None:
    """Add the demo activities that are missing (matched on party, type and date)."""
    for spec in ACTIVITIES:
        fields = dict(spec)
        contact = activities.party(fields.pop("party_id"))
        exists = db.session.scalar(
            select(Activity.id).where(
                Activity.contact_id == contact.id,
                Activity.activity_type == spec["activity_type"],
                Activity.description == spec["description"],
            )
        )
        if exists is None:
            activities.create_activity(contact.imis_id, actor=STAFF["username"], **fields)


def load_groups() -> None:
    """Add the demo group class, roles, groups and memberships that are missing."""
    actor = STAFF["username"]
    if groups.get_group_class(COMMITTEE_CLASS["class_id"]) is None:
        groups.create_group_class(actor=actor, **COMMITTEE_CLASS)
    for spec in ROLES:
        if groups.get_role(spec["role_id"]) is None:
            groups.create_role(actor=actor, **spec)
    for spec in GROUPS:
        fields = dict(spec)
        members = fields.pop("members")
        if groups.get_group(spec["group_id"]) is None:
            groups.create_group(actor=actor, **fields)
        for party_id, role_names, joined in members:
            if not groups.list_members(group_id=spec["group_id"], party_id=party_id):
                roles = [groups.RoleDates(role=name, effective_date=joined) for name in role_names]
                groups.add_member(
                    spec["group_id"], party_id, roles=roles, join_date=joined, actor=actor
                )


# Panel sources (Staff site > RiSE > Panel designer): PM-V2.1's demo panels [C: names and the
# CEU_ properties, and the row ~23179|2]; the other properties are the mock's.
PANELS = [
    {
        "name": "Name_Demo",
        "parent": "Party",
        "multi_instance": False,
        "properties": [
            {"name": "FavouriteColour", "type": "list", "values": ["Red", "Green", "Blue"]},
            {"name": "Newsletter", "type": "yesno"},
            {"name": "Notes", "type": "text"},
        ],
    },
    {
        "name": "Name_CEU",
        "parent": "Party",
        "multi_instance": True,
        "properties": [
            {"name": "CEU_Course", "type": "text"},
            {"name": "CEU_Hours", "type": "decimal"},
            {"name": "CEU_Notes", "type": "text"},
            {"name": "CEU_Date", "type": "date"},
        ],
        "rows": [
            (
                "23179",
                {"CEU_Course": "Ethics in Practice", "CEU_Hours": 2, "CEU_Date": "2025-03-14"},
            ),
            ("23179", {"CEU_Hours": 10, "CEU_Notes": "These are some notes on the subject!"}),
        ],
    },
]
# IQA queries (Staff site > RiSE > Intelligent Query Architect): the search PM-V2.1 calls
# (`$/Common/Queries/Search/Contact/Last Name&parameter=eq:smith`) and two site queries.
QUERIES = [
    {
        "folder": "$/Common/Queries/Search/Contact",
        "name": "Last Name",
        "document_key": "5de3fe0d-565c-4bb7-90f0-f8ac4c921422",  # PM-V2.1's example key
        "source": "Party",
        "columns": [
            {"property": "PartyId", "alias": "ID"},
            {"property": "PersonName.FirstName", "alias": "FirstName"},
            {"property": "PersonName.LastName", "alias": "LastName"},
            {"property": "Emails.Address", "alias": "Email"},
        ],
        "filters": [
            {"property": "PersonName.LastName", "operator": "startswith", "prompt": "Last Name"}
        ],
        "sorting": [{"property": "PersonName.LastName"}],
    },
    {
        "folder": "$/Demo/Groups",
        "name": "Members of a group",
        "document_key": "3f9b6a52-1c0e-4d8b-9a51-7e2c4d6f8a10",
        "source": "GroupMember",
        "columns": [
            {"property": "Party.PartyId", "alias": "ID"},
            {"property": "Group.Name", "alias": "Group"},
            {"property": "JoinDate", "alias": "Joined"},
            {"property": "IsActive", "alias": "Active"},
        ],
        "filters": [
            {"property": "Group.GroupId", "operator": "eq", "prompt": "Group", "required": True}
        ],
        "sorting": [{"property": "JoinDate"}],
    },
    {
        "folder": "$/Demo/Activities",
        "name": "Activities of a party",
        "document_key": "8c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
        "source": "Activity",
        "columns": [
            {"property": "EFFECTIVE_DATE", "alias": "Date"},
            {"property": "ACTIVITY_TYPE", "alias": "Type"},
            {"property": "DESCRIPTION", "alias": "Description"},
            {"property": "AMOUNT", "alias": "Amount"},
        ],
        "filters": [
            {"property": "PartyId", "operator": "eq", "prompt": "Party ID", "required": True}
        ],
        "sorting": [{"property": "EFFECTIVE_DATE", "descending": True}],
    },
]


def load_panels() -> None:
    """Add the demo panel sources that are missing, with their rows."""
    for spec in PANELS:
        if panels.get_source(spec["name"]) is not None:
            continue
        source = panels.save_source(
            None,
            name=spec["name"],
            parent=spec["parent"],
            multi_instance=spec["multi_instance"],
            properties=spec["properties"],
            actor=STAFF["username"],
        )
        for party_id, data in spec.get("rows", []):
            contact = db.session.scalar(select(Contact).where(Contact.imis_id == party_id))
            if contact is not None:
                panels.create_row(source, contact, data, actor=STAFF["username"])


def load_queries() -> None:
    """Add the demo IQA folders and queries that are missing (`$/OAuth2/userInfo` is built in)."""
    from imis_mock.api import iqa as engine  # the sources are the API's catalog entries

    for folder in ("$/Common", "$/OAuth2"):
        iqa.ensure_folder(folder)
    for spec in QUERIES:
        if iqa.find_by_path(f"{spec['folder']}/{spec['name']}") is not None:
            continue
        iqa.save_query(
            None,
            name=spec["name"],
            folder=spec["folder"],
            source=spec["source"],
            columns=spec["columns"],
            filters=spec["filters"],
            sorting=spec["sorting"],
            properties=engine.source_properties(spec["source"]),
            operations=set(engine.operations()),
            actor=STAFF["username"],
            document_key=spec["document_key"],
        )


def load(*, sample_app: bool = True) -> int:
    """Create the GUEST user, every missing demo account and the demo content.

    Return how many accounts were created. The caller commits. The tests' base database leaves
    out the sample app's client application and record (sample_app=False).
    """
    accounts.ensure_guest()
    created = 0
    if accounts.get_user(STAFF["username"]) is None:
        accounts.create_user(password=STAFF_PASSWORD, staff=True, **STAFF)
        created += 1
    for member in MEMBERS:
        if accounts.get_user(member["username"]) is None:
            accounts.create_user(password=MEMBER_PASSWORD, staff=False, **member)
            created += 1
    load_parties()
    load_content()
    load_activities()
    load_groups()
    load_panels()
    load_queries()
    if sample_app:
        load_sample_app()
    return created
