"""Content folders and records: names, drafts and publishing, published URLs, access rules.

A record's URL is /{folder path}/{Publish file name}.aspx, matched without regard to letter case.
Folder names and publish file names are single URL segments: ASCII letters, digits, `-`, `_` and
single inner dots (so `/`, `..`, spaces and non-ASCII are refused).
"""

import re

import nh3
from sqlalchemy import delete, select

from imis_mock.extensions import db
from imis_mock.models import ClientApplication, ContentFolder, ContentItem, ContentRecord
from imis_mock.models.content import CONTACT_SIGN_IN, CONTENT_HTML, SSO
from imis_mock.services import ServiceError, audit, clock, settings

SUFFIX = ".aspx"
TITLE_MAX = 200
NAME_MAX = 100
HTML_MAX = 20_000
SEGMENT = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*", re.ASCII)
# Top-level folder names that would put a record under another area's URLs.
RESERVED_FOLDERS = {"staff", "static", "api", "token"}
LANDING_KEY = "member_landing_record_id"

KIND_LABELS = {
    SSO: "Single Sign-On",
    CONTACT_SIGN_IN: "Contact Sign In",
    CONTENT_HTML: "Content Html",
}
# The "Add content" picker: item kinds grouped by folder, as in iMIS.
PICKER = [("Contact", [SSO, CONTACT_SIGN_IN]), ("General", [CONTENT_HTML])]


# --- Names ------------------------------------------------------------------------------------


def clean_title(title: str | None) -> str:
    title = (title or "").strip()
    if not title:
        raise ServiceError("Enter a title.", "title")
    if len(title) > TITLE_MAX:
        raise ServiceError(f"A title has at most {TITLE_MAX} characters.", "title")
    if any(not ch.isprintable() for ch in title):
        raise ServiceError("A title cannot contain control characters.", "title")
    return title


def clean_segment(value: str | None, field: str, what: str) -> str:
    """Return a valid folder name or publish file name (a trailing .aspx is dropped)."""
    value = (value or "").strip()
    if value.lower().endswith(SUFFIX):
        value = value[: -len(SUFFIX)]
    if not value:
        raise ServiceError(f"Enter a {what}.", field)
    if len(value) > NAME_MAX:
        raise ServiceError(f"A {what} has at most {NAME_MAX} characters.", field)
    if not SEGMENT.fullmatch(value):
        raise ServiceError(
            f"A {what} may hold only the letters A-Z, digits, hyphens, underscores and single dots "
            "between them (no spaces, slashes or '..').",
            field,
        )
    return value


def clean_item_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name:
        raise ServiceError("Enter a name.", "name")
    if len(name) > NAME_MAX:
        raise ServiceError(f"A name has at most {NAME_MAX} characters.", "name")
    return name


def sanitise_html(html: str | None) -> str:
    """Return the HTML without scripts, event handlers or javascript: links."""
    html = html or ""
    if len(html) > HTML_MAX:
        raise ServiceError(f"Content Html has at most {HTML_MAX} characters.", "html")
    return nh3.clean(html)


# --- Folders ----------------------------------------------------------------------------------


def folder_path(folder: ContentFolder | None) -> list[str]:
    """Return the folder names from the top down to this folder ([] for the root)."""
    names: list[str] = []
    while folder is not None:
        names.append(folder.name)
        folder = folder.parent
    return names[::-1]


def folder_label(folder: ContentFolder | None) -> str:
    return "/" + "/".join(folder_path(folder))


def all_folders() -> list[ContentFolder]:
    """Return every folder, ordered by its path (for pickers and the tree)."""
    folders = db.session.scalars(select(ContentFolder)).all()
    return sorted(folders, key=lambda f: [name.lower() for name in folder_path(f)])


def get_folder(folder_id: int | None) -> ContentFolder | None:
    """Return the folder with this id, None for the root; ServiceError if it does not exist."""
    if not folder_id:
        return None
    folder = db.session.get(ContentFolder, folder_id)
    if folder is None:
        raise ServiceError("Choose a folder from the list.", "folder")
    return folder


def create_folder(
    name: str, parent: ContentFolder | None, *, is_secure: bool, actor: str
) -> ContentFolder:
    """Create a folder under `parent` (None: the root). The caller commits."""
    name = clean_segment(name, "name", "folder name")
    if parent is None and name.lower() in RESERVED_FOLDERS:
        raise ServiceError(f"'{name}' is used by the site itself; choose another name.", "name")
    parent_id = parent.id if parent else None
    clash = db.session.scalar(
        select(ContentFolder).where(
            ContentFolder.parent_id.is_(None)
            if parent_id is None
            else ContentFolder.parent_id == parent_id,
            ContentFolder.name_key == name.lower(),
        )
    )
    if clash is not None:
        raise ServiceError("A folder with that name is already in this folder.", "name")
    folder = ContentFolder(name=name, name_key=name.lower(), parent=parent, is_secure=is_secure)
    db.session.add(folder)
    db.session.flush()
    audit.record(
        "content.folder_create", "success", actor=actor, detail={"folder": folder_label(folder)}
    )
    return folder


# --- Records ----------------------------------------------------------------------------------


def path_key(folder: ContentFolder | None, publish_file_name: str) -> str:
    return "/".join([*folder_path(folder), publish_file_name]).lower()


def published_path(record: ContentRecord) -> str:
    """Return the record's URL path, e.g. /Members/Benefits.aspx."""
    return "/" + "/".join([*folder_path(record.folder), record.publish_file_name]) + SUFFIX


def _check_free(key: str, record: ContentRecord | None) -> None:
    clash = db.session.scalar(select(ContentRecord).where(ContentRecord.path_key == key))
    if clash is not None and clash is not record:
        raise ServiceError(
            "Another content record in this folder has that publish file name.", "publish_file_name"
        )


def all_records() -> list[ContentRecord]:
    return list(db.session.scalars(select(ContentRecord).order_by(ContentRecord.path_key)))


def get_record(record_id: int) -> ContentRecord | None:
    return db.session.get(ContentRecord, record_id)


def create_record(
    title: str, publish_file_name: str, folder: ContentFolder | None, *, actor: str
) -> ContentRecord:
    """Create a draft content record (New > Website Content). The caller commits."""
    title = clean_title(title)
    name = clean_segment(publish_file_name, "publish_file_name", "publish file name")
    key = path_key(folder, name)
    _check_free(key, None)
    record = ContentRecord(
        title=title,
        publish_file_name=name,
        path_key=key,
        folder=folder,
        created_by=actor,
        updated_by=actor,
        has_unpublished_changes=True,
    )
    db.session.add(record)
    db.session.flush()
    audit.record("content.create", "success", actor=actor, detail={"path": published_path(record)})
    return record


def save_record(
    record: ContentRecord,
    *,
    title: str,
    publish_file_name: str,
    folder: ContentFolder | None,
    is_secure: bool,
    requires_login: bool,
    publish: bool,
    actor: str,
) -> None:
    """Save the working copy (Save), and publish it too when asked (Save & Publish).

    The title, folder and publish file name name the record and take effect at once; what
    members see on the page (published title, access properties, items) changes only on publish.
    The caller commits.
    """
    title = clean_title(title)
    name = clean_segment(publish_file_name, "publish_file_name", "publish file name")
    key = path_key(folder, name)
    _check_free(key, record)
    record.title = title
    record.publish_file_name = name
    record.folder = folder
    record.path_key = key
    record.is_secure = is_secure
    record.requires_login = requires_login
    record.updated_by = actor
    record.has_unpublished_changes = True
    if publish:
        publish_record(record, actor=actor)


def publish_record(record: ContentRecord, *, actor: str) -> None:
    """Copy the working copy to the published copy. The caller commits."""
    db.session.flush()
    db.session.execute(
        delete(ContentItem).where(
            ContentItem.record_id == record.id, ContentItem.published.is_(True)
        ),
        execution_options={"synchronize_session": False},
    )
    db.session.expire(record, ["items"])
    for item in record.draft_items:
        db.session.add(
            ContentItem(
                record=record,
                published=True,
                position=item.position,
                kind=item.kind,
                name=item.name,
                client_application_id=item.client_application_id,
                html=item.html,
            )
        )
    record.published_title = record.title
    record.published_is_secure = record.is_secure
    record.published_requires_login = record.requires_login
    record.published_at = clock.now()
    record.has_unpublished_changes = False
    db.session.flush()
    audit.record(
        "content.publish",
        "success",
        actor=actor,
        detail={"path": published_path(record), "items": len(record.draft_items)},
    )


def holds_sso(record: ContentRecord) -> bool:
    return any(item.kind == SSO for item in record.items)


def delete_record(record: ContentRecord, *, actor: str) -> None:
    """Delete a record, unless it holds a Single Sign-On item. The caller commits."""
    path = published_path(record)
    if holds_sso(record):
        audit.record(
            "content.delete", "failure", actor=actor, error_code="holds_sso", detail={"path": path}
        )
        draft_has_it = any(item.kind == SSO for item in record.draft_items)
        raise ServiceError(
            "This content record holds a Single Sign-On content item, so it cannot be deleted. "
            + (
                "Remove the Single Sign-On item first."
                if draft_has_it
                else "Its published copy still holds one: Save & Publish it first."
            )
        )
    db.session.delete(record)
    audit.record("content.delete", "success", actor=actor, detail={"path": path})


# --- Items ------------------------------------------------------------------------------------


def client_applications() -> list[ClientApplication]:
    """Return the registered client applications, ordered by Client ID."""
    return list(db.session.scalars(select(ClientApplication).order_by(ClientApplication.client_id)))


def _client(client_id: int | None) -> ClientApplication:
    client = db.session.get(ClientApplication, client_id) if client_id else None
    if client is None:
        raise ServiceError("Choose a client application from the list.", "client_application")
    return client


def add_item(
    record: ContentRecord,
    kind: str,
    *,
    name: str,
    client_application_id: int | None = None,
    html: str = "",
) -> ContentItem:
    """Add a content item to the record's working copy. The caller commits."""
    if kind not in KIND_LABELS:
        raise ServiceError("Choose a content item from the list.")
    position = max((i.position for i in record.draft_items), default=0) + 1
    item = ContentItem(kind=kind, published=False, position=position)
    with db.session.no_autoflush:
        record.items.append(item)
        update_item(item, name=name, client_application_id=client_application_id, html=html)
    return item


def update_item(
    item: ContentItem, *, name: str, client_application_id: int | None = None, html: str = ""
) -> None:
    """Change a draft item's settings. The caller commits."""
    item.name = clean_item_name(name)
    if item.kind == SSO:
        item.client_application = _client(client_application_id)
    elif item.kind == CONTENT_HTML:
        item.html = sanitise_html(html)
    item.record.has_unpublished_changes = True


def remove_item(item: ContentItem) -> None:
    """Remove a draft item from the working copy. The caller commits."""
    item.record.has_unpublished_changes = True
    item.record.items.remove(item)


def sso_records_using(client: ClientApplication) -> list[ContentRecord]:
    """Return the records whose draft or published copy holds a Single Sign-On item for client."""
    return list(
        db.session.scalars(
            select(ContentRecord)
            .join(ContentItem)
            .where(ContentItem.kind == SSO, ContentItem.client_application_id == client.id)
            .distinct()
            .order_by(ContentRecord.path_key)
        )
    )


# --- The published site -----------------------------------------------------------------------


def find_published(path: str) -> ContentRecord | None:
    """Return the published record at a URL path such as "Members/Benefits.aspx" (any case)."""
    path = path.strip("/")
    if not path.lower().endswith(SUFFIX):
        return None
    key = path[: -len(SUFFIX)].lower()
    record = db.session.scalar(select(ContentRecord).where(ContentRecord.path_key == key))
    return record if record is not None and record.is_published else None


def folder_is_secure(folder: ContentFolder | None) -> bool:
    """Return True if the folder, or any folder above it, is secure."""
    while folder is not None:
        if folder.is_secure:
            return True
        folder = folder.parent
    return False


def is_secure(record: ContentRecord) -> bool:
    """Return True if the published record, or any folder above it, is secure."""
    return folder_is_secure(record.folder) or record.published_is_secure


def sso_item(record: ContentRecord) -> ContentItem | None:
    """Return the published Single Sign-On item, if any: it wins over every other item."""
    return next((item for item in record.published_items if item.kind == SSO), None)


# --- After sign-in ----------------------------------------------------------------------------


def landing_record() -> ContentRecord | None:
    """Return the record members are sent to after sign-in (None: the home page)."""
    value = settings.get(LANDING_KEY)
    return get_record(int(value)) if value.isdigit() else None


def landing_path() -> str | None:
    """Return the URL path members go to after sign-in, if a published record is chosen."""
    record = landing_record()
    return published_path(record) if record is not None and record.is_published else None


def set_landing_record(record: ContentRecord | None, *, actor: str) -> None:
    """Choose the record members go to after sign-in (None: the home page). The caller commits."""
    settings.put(LANDING_KEY, str(record.id) if record else "")
    audit.record(
        "settings.update",
        "success",
        actor=actor,
        detail={"after_sign_in": published_path(record) if record else "/"},
    )


def member_links() -> list[tuple[str, str]]:
    """Return (title, URL path) of every published record, for the member home page."""
    return [
        (record.published_title, published_path(record))
        for record in all_records()
        if record.is_published
    ]
