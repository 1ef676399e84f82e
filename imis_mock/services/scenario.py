"""Scenario files: a whole site as one YAML or JSON document (like Keycloak's realm files).

validate() checks a document against the published JSON Schema (imis_mock/scenarios/
scenario.schema.json, copied to docs/), load() writes it in one transaction through the same
services the Staff site uses, and export() reads the site back in the same format. Every error
names the field by its position in the document, e.g. `contacts[2].username`, and the line when
the document came from a file; nothing is written unless the whole document loads.

Each top-level key has a loader and an exporter in SECTIONS (at the end of this module) and a
property in the schema.
"""

import json
import secrets as random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from functools import cache

import jsonschema_rs
import yaml
from flask import current_app
from sqlalchemy import delete, select, update

from imis_mock.extensions import db
from imis_mock.models import (
    Activity,
    ClientApplication,
    ClientFault,
    Contact,
    ContentFolder,
    ContentRecord,
    PartyStatus,
    User,
)
from imis_mock.models.base import Base
from imis_mock.scenarios import SCHEMA_PATH
from imis_mock.services import (
    ServiceError,
    accounts,
    activities,
    audit,
    clients,
    clock,
    content,
    groups,
    iqa,
    panels,
    parties,
    qa,
    secrets,
    values,
)
from imis_mock.services import settings as site_settings

ACTOR = "scenario"
# A party's fields as scenarios write them: the party columns (services/parties.py), with the
# employer named by its iMIS ID ("employer") rather than by its row id.
PARTY_FIELDS = tuple(name for name in parties.PARTY_COLUMNS if name != "organization_party_id")
# Those a person with a login gives accounts.create_user as text (the party rules check the status
# and the employer after; join_date is a date).
PERSON_FIELDS = tuple(
    name for name in PARTY_FIELDS if name not in ("is_organization", "status", "join_date")
)


class ScenarioError(ServiceError):
    """A scenario that cannot be loaded: every problem, each as "position: message"."""

    def __init__(self, problems: list[str]):
        super().__init__("The scenario was not loaded: " + "; ".join(problems))
        self.problems = problems


@dataclass
class Loaded:
    """What load() created that the caller may need: the secrets it generated, by name."""

    client_secrets: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    # People with a status or an employer, and where: the party rules apply once the parties are.
    _people: list[tuple[Contact, dict, str]] = field(default_factory=list, repr=False)


# --- Reading and validating -------------------------------------------------------------------


@cache
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())


@cache
def _validator():
    return jsonschema_rs.Draft202012Validator(schema(), validate_formats=True)


def position(path) -> str:
    """Return a JSON path such as contacts[2].username for a list of keys and indexes."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(document)"


class _Lines:
    """The line of each position in a YAML or JSON text, for error messages."""

    def __init__(self, text: str | None):
        self.lines: dict[str, int] = {}
        if text is not None:
            try:
                self._walk(yaml.compose(text), [])
            except yaml.YAMLError:
                pass

    def _walk(self, node, path) -> None:
        self.lines.setdefault(position(path), node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                self.lines[position([*path, key.value])] = key.start_mark.line + 1
                if isinstance(value, yaml.MappingNode | yaml.SequenceNode):
                    self._walk(value, [*path, key.value])
        elif isinstance(node, yaml.SequenceNode):
            for index, value in enumerate(node.value):
                self._walk(value, [*path, index])

    def at(self, where: str) -> str:
        # The nearest enclosing position that has a line: a missing field has none of its own.
        probe = where
        while probe:
            if probe in self.lines:
                return f"{where} (line {self.lines[probe]})"
            cut = max(probe.rfind("."), probe.rfind("["))
            probe = probe[:cut] if cut > 0 else ""
        return where


class _TextDates(yaml.SafeLoader):
    """YAML without its timestamps: an unquoted date stays text, as JSON gives it and the schema
    wants, so a date that does not exist (2026-02-30) is refused at its field, not by PyYAML."""


_TextDates.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if not tag.endswith(":timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse(text: str) -> dict:
    """Read a YAML or JSON scenario (JSON is YAML); raise ScenarioError with the line if bad."""
    try:
        return yaml.load(text, Loader=_TextDates)  # a SafeLoader
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(document)"
        raise ScenarioError([f"{where}: {error.problem or error}"]) from None
    except yaml.YAMLError as error:
        raise ScenarioError([f"(document): {error}"]) from None


def validate(document, text: str | None = None) -> None:
    """Check the document against the JSON Schema and its references; raise ScenarioError."""
    lines = _Lines(text)
    problems = [
        f"{lines.at(position(error.instance_path))}: {error.message}"
        for error in _validator().iter_errors(document)
    ]
    if not problems:
        problems = [f"{lines.at(where)}: {message}" for where, message in _references(document)]
    if problems:
        raise ScenarioError(problems)


def _references(document: dict) -> list[tuple[str, str]]:
    """Find what the schema cannot: duplicates and names that refer to nothing."""
    problems = []
    codes = set()
    for index, status in enumerate(document.get("party_statuses", [])):
        if status["code"] in codes:
            problems.append((f"party_statuses[{index}].code", f"duplicate {status['code']!r}"))
        codes.add(status["code"])
    seen: dict[str, str] = {}
    for section in ("contacts", "staff"):
        for index, person in enumerate(document.get(section, [])):
            key = accounts.username_key(person["username"])
            where = f"{section}[{index}].username"
            if key in seen:
                problems.append((where, f"duplicate username {person['username']!r}"))
            seen.setdefault(key, where)
    client_ids = set()
    for index, client in enumerate(document.get("client_applications", [])):
        key = clients.client_id_key(client["client_id"])
        if key in client_ids:
            problems.append(
                (f"client_applications[{index}].client_id", f"duplicate {client['client_id']!r}")
            )
        client_ids.add(key)
    site = document.get("content", {})
    folders = {f["path"].strip("/").lower() for f in site.get("folders", [])}
    for index, record in enumerate(site.get("records", [])):
        where = f"content.records[{index}]"
        if record.get("folder") and record["folder"].strip("/").lower() not in folders:
            problems.append(
                (f"{where}.folder", f"no folder {record['folder']!r} in content.folders")
            )
        for number, item in enumerate(record.get("items", [])):
            if item["kind"] == "sso" and clients.client_id_key(item["client"]) not in client_ids:
                problems.append(
                    (
                        f"{where}.items[{number}].client",
                        f"no client application {item['client']!r} in client_applications",
                    )
                )
    for index, fault in enumerate(document.get("settings", {}).get("faults", [])):
        if clients.client_id_key(fault["client"]) not in client_ids:
            problems.append(
                (
                    f"settings.faults[{index}].client",
                    f"no client application {fault['client']!r} in client_applications",
                )
            )
    return problems


# --- Loading ----------------------------------------------------------------------------------


def reset() -> None:
    """Delete every row of every table, then add the GUEST user back. The caller commits."""
    audit.flush()  # Events queued before the reset belong to the old site.
    # Folders refer to their parents (ON DELETE RESTRICT): cut the links before the delete.
    db.session.execute(update(ContentFolder).values(parent_id=None))
    for table in reversed(Base.metadata.sorted_tables):
        db.session.execute(delete(table))
    db.session.expunge_all()
    accounts.ensure_guest()
    groups.ensure_shipped_rows()


def load(
    document: dict, *, text: str | None = None, replace: bool = True, check_server: bool = False
) -> Loaded:
    """Validate and load a scenario in one transaction (replace: on an empty site); commit.

    check_server: refuse settings that only a server start can apply (STRICT_REFRESH_TOKEN_
    ROTATION is read from the configuration) when they differ from this server's.
    """
    validate(document, text)
    lines = _Lines(text)
    loaded = Loaded()
    rotation = document.get("settings", {}).get("strict_refresh_token_rotation")
    if check_server and rotation is not None:
        if rotation != bool(current_app.config["STRICT_REFRESH_TOKEN_ROTATION"]):
            raise ScenarioError(
                [
                    f"{lines.at('settings.strict_refresh_token_rotation')}: this server runs "
                    f"with STRICT_REFRESH_TOKEN_ROTATION={not rotation}; start it with "
                    "`imis-mock serve --scenario` to change it"
                ]
            )
    try:
        if replace:
            reset()
        for name, (loader, _) in SECTIONS.items():
            if name in document:
                loader(document[name], loaded)
        for contact, entry, where in loaded._people:
            _apply_party_rules(contact, entry, where)
        db.session.flush()
    except _At as error:
        db.session.rollback()
        raise ScenarioError([f"{lines.at(error.where)}: {error.message}"]) from None
    except Exception:
        db.session.rollback()
        raise
    audit.record("qa.load_scenario", "success", actor=ACTOR, detail=loaded.counts)
    db.session.commit()
    return loaded


class _At(Exception):
    def __init__(self, where: str, message: str):
        super().__init__(message)
        self.where = where
        self.message = message


def _service(where: str, call: Callable, *args, rename: dict | None = None, **kwargs):
    """Call a service; a rule it raises becomes an error at the entry's field (a form field
    that the scenario calls otherwise is renamed)."""
    try:
        return call(*args, **kwargs)
    except ServiceError as error:
        name = (rename or {}).get(error.field, error.field)
        raise _At(f"{where}.{name}" if name else where, error.message) from None


def _load_people(entries: list[dict], loaded: Loaded, *, staff: bool) -> None:
    section = "staff" if staff else "contacts"
    for index, entry in enumerate(entries):
        where = f"{section}[{index}]"
        password = entry.get("password") or random.token_urlsafe(24)
        values = {name: entry[name] for name in PERSON_FIELDS if name in entry}
        if "join_date" in entry:
            values["join_date"] = date.fromisoformat(entry["join_date"])
        user = _service(
            where,
            accounts.create_user,
            entry["username"],
            password,
            staff=staff,
            imis_id=entry.get("imis_id"),
            **values,
        )
        if "password_hash" in entry:
            user.password_hash = entry["password_hash"]
        _set_uniform_id(user.contact, entry, where)
        if "status" in entry or "employer" in entry:
            loaded._people.append((user.contact, entry, where))
        user.is_disabled = entry.get("disabled", False)
        db.session.flush()
    loaded.counts[section] = len(entries)


def _set_uniform_id(contact: Contact, entry: dict, where: str) -> None:
    if "uniform_id" in entry:
        if db.session.scalar(select(Contact).filter_by(uniform_id=entry["uniform_id"])):
            raise _At(f"{where}.uniform_id", "this uniform_id is already used")
        contact.uniform_id = entry["uniform_id"]


def _apply_party_rules(contact: Contact, entry: dict, where: str) -> None:
    """Give a person with a login their status and employer, as the party rules allow (people load
    before the parties, so that rows are made in the order the site's lists show)."""
    values = {name: getattr(contact, name) for name in parties.PARTY_COLUMNS}
    values["status"] = entry.get("status", contact.status)
    checked = _service(
        where, parties.checked_values, values, employer_imis_id=_employer(entry, where)
    )
    for name, value in checked.items():
        setattr(contact, name, value)


def _employer(entry: dict, where: str) -> str | None:
    """The entry's employer, checked to be an organization on file."""
    if "employer" not in entry:
        return None
    return _service(f"{where}.employer", parties.find_organization, entry["employer"]).imis_id


def _load_party_statuses(entries: list[dict], loaded: Loaded) -> None:
    for entry in entries:
        status = db.session.get(PartyStatus, entry["code"])
        if status is None:
            status = PartyStatus(code=entry["code"])
            db.session.add(status)
        status.name = entry["name"]
        status.description = entry.get("description", "")
        status.active_status = entry.get("active_status", "Active")
    db.session.flush()
    loaded.counts["party_statuses"] = len(entries)


def _export_party_statuses() -> list[dict]:
    return [
        {
            "code": status.code,
            "name": status.name,
            "description": status.description,
            "active_status": status.active_status,
        }
        for status in db.session.scalars(select(PartyStatus).order_by(PartyStatus.code))
    ]


def _load_parties(entries: list[dict], loaded: Loaded) -> None:
    """Organizations first, then people, so that every employer is on file."""
    order = sorted(range(len(entries)), key=lambda i: not entries[i].get("is_organization"))
    for index in order:
        entry, where = entries[index], f"parties[{index}]"
        imis_id = entry.get("imis_id")
        if imis_id and db.session.scalar(select(Contact.id).filter_by(imis_id=imis_id)):
            raise _At(f"{where}.imis_id", f"iMIS ID {imis_id} is already used.")
        values = {name: entry[name] for name in PARTY_FIELDS if name in entry}
        if "join_date" in values:
            values["join_date"] = date.fromisoformat(values["join_date"])
        contact = _service(
            where,
            parties.create_party,
            values,
            employer_imis_id=_employer(entry, where),
            actor=ACTOR,
            imis_id=imis_id,
        )
        _set_uniform_id(contact, entry, where)
        db.session.flush()
    loaded.counts["parties"] = len(entries)


def _load_clients(entries: list[dict], loaded: Loaded) -> None:
    for index, entry in enumerate(entries):
        where = f"client_applications[{index}]"
        client_id = _service(where, clients.clean_client_id, entry["client_id"])
        if clients.find_client(client_id) is not None:
            raise _At(f"{where}.client_id", clients.DUPLICATE_MESSAGE)
        if "secret_hash" in entry:
            secret_hash = entry["secret_hash"]
        else:
            secret = entry.get("secret")
            if secret is None:
                secret = loaded.client_secrets[client_id] = secrets.generate_client_secret()
            secret_hash = secrets.client_secret_hash(_service(where, clients.clean_secret, secret))
        db.session.add(
            ClientApplication(
                client_id=client_id,
                client_id_key=clients.client_id_key(client_id),
                secret_hash=secret_hash,
                refresh_token_lifetime=_service(
                    where,
                    clients.clean_lifetime,
                    entry.get("refresh_token_lifetime", clients.LIFETIME_DEFAULT),
                ),
                redirect_url=_service(where, clients.clean_redirect_url, entry["redirect_url"]),
            )
        )
        db.session.flush()
    loaded.counts["client_applications"] = len(entries)


def _folder(path: str | None) -> ContentFolder | None:
    folder = None
    for name in (path or "").strip("/").split("/") if path else []:
        folder = db.session.scalar(
            select(ContentFolder).where(
                ContentFolder.parent_id.is_(None)
                if folder is None
                else ContentFolder.parent_id == folder.id,
                ContentFolder.name_key == name.lower(),
            )
        )
    return folder


def _load_content(section: dict, loaded: Loaded) -> None:
    for index, entry in enumerate(section.get("folders", [])):
        *parents, name = entry["path"].strip("/").split("/")
        parent = _folder("/".join(parents)) if parents else None
        if parents and parent is None:
            raise _At(
                f"content.folders[{index}].path", "its parent folder comes later or not at all"
            )
        _service(
            f"content.folders[{index}]",
            content.create_folder,
            name,
            parent,
            is_secure=entry.get("secure", False),
            actor=ACTOR,
            rename={"name": "path"},
        )
    for index, entry in enumerate(section.get("records", [])):
        where = f"content.records[{index}]"
        record = _service(
            where,
            content.create_record,
            entry["title"],
            entry["publish_file_name"],
            _folder(entry.get("folder")),
            actor=ACTOR,
        )
        record.is_secure = entry.get("secure", False)
        record.requires_login = entry.get("requires_login", False)
        for number, item in enumerate(entry.get("items", [])):
            client = clients.find_client(item["client"]) if item["kind"] == "sso" else None
            _service(
                f"{where}.items[{number}]",
                content.add_item,
                record,
                item["kind"],
                name=item["name"],
                client_application_id=client.id if client else None,
                html=item.get("html", ""),
            )
        if entry.get("published", True):
            content.publish_record(record, actor=ACTOR)
    if section.get("after_sign_in"):
        record = content.find_published(section["after_sign_in"])
        if record is None:
            raise _At("content.after_sign_in", "no published record at this path")
        content.set_landing_record(record, actor=ACTOR)
    loaded.counts["content_records"] = len(section.get("records", []))


def _load_settings(section: dict, loaded: Loaded) -> None:
    if "clock_offset_seconds" in section:
        # Written in this transaction: clock.set_offset() commits on its own.
        value = str(float(section["clock_offset_seconds"]))
        site_settings.put(clock.OFFSET_KEY, value)
        clock.remember_offset(value)  # the rest of this request sees the new clock too
    for index, entry in enumerate(section.get("faults", [])):
        where = f"settings.faults[{index}]"
        delay = entry.get("delay_seconds", 0)
        if entry["mode"] == "delay" and not 1 <= delay <= qa.MAX_FAULT_DELAY:
            raise _At(f"{where}.delay_seconds", f"a delay is 1 to {qa.MAX_FAULT_DELAY} seconds")
        db.session.add(
            ClientFault(
                client_application_id=clients.find_client(entry["client"]).id,
                mode=entry["mode"],
                delay_seconds=delay if entry["mode"] == "delay" else 0,
                remaining=entry.get("count"),
            )
        )
    loaded.counts["faults"] = len(section.get("faults", []))


# --- Exporting --------------------------------------------------------------------------------


def _export_people(*, staff: bool, include_secrets: bool) -> list[dict]:
    users = db.session.scalars(
        select(User)
        .join(Contact)
        .where(User.is_staff.is_(staff), User.is_guest.is_(False))
        .order_by(User.username_key)
    )
    people = []
    for user in users:
        contact = user.contact
        entry: dict = {"username": user.username}
        if include_secrets and user.password_hash:
            entry["password_hash"] = user.password_hash
        if user.is_disabled:
            entry["disabled"] = True
        people.append(entry | _party_entry(contact, "STAFF" if staff else "M"))
    return people


def _party_entry(contact: Contact, member_type: str) -> dict:
    """A contact's party fields, less those that hold the loader's default."""
    entry = {"imis_id": contact.imis_id, "uniform_id": contact.uniform_id}
    defaults = {"informal_name": contact.first_name, "member_type": member_type, "status": "A"}
    for name in PARTY_FIELDS:
        value = getattr(contact, name)
        if value and value != defaults.get(name):
            entry[name] = value.isoformat() if name == "join_date" else value
    if contact.employer_imis_id:
        entry["employer"] = contact.employer_imis_id
    return entry


def _export_parties() -> list[dict]:
    contacts = db.session.scalars(
        select(Contact)
        .where(~Contact.user.has())
        .order_by(Contact.is_organization.desc(), Contact.imis_id)
    )
    return [_party_entry(contact, "NM") for contact in contacts]


def _export_clients(include_secrets: bool) -> list[dict]:
    entries = []
    rows = db.session.scalars(select(ClientApplication).order_by(ClientApplication.client_id_key))
    for client in rows:
        entry = {"client_id": client.client_id}
        if include_secrets:
            entry["secret_hash"] = client.secret_hash
        entry["refresh_token_lifetime"] = client.refresh_token_lifetime
        entry["redirect_url"] = client.redirect_url
        entries.append(entry)
    return entries


def _export_content() -> dict:
    folders = [
        {"path": "/".join(content.folder_path(f)), **({"secure": True} if f.is_secure else {})}
        for f in content.all_folders()
    ]
    records = []
    for record in db.session.scalars(select(ContentRecord).order_by(ContentRecord.path_key)):
        entry: dict = {"title": record.title}
        if record.folder is not None:
            entry["folder"] = "/".join(content.folder_path(record.folder))
        entry["publish_file_name"] = record.publish_file_name
        for name, value in (
            ("secure", record.is_secure),
            ("requires_login", record.requires_login),
        ):
            if value:
                entry[name] = True
        if not record.is_published:
            entry["published"] = False
        entry["items"] = [_export_item(item) for item in record.draft_items]
        records.append(entry)
    section: dict = {"folders": folders, "records": records}
    if content.landing_path():
        section["after_sign_in"] = content.landing_path()
    return section


def _export_item(item) -> dict:
    entry = {"kind": item.kind, "name": item.name}
    if item.kind == content.SSO and item.client_application is not None:
        entry["client"] = item.client_application.client_id
    if item.kind == content.CONTENT_HTML:
        entry["html"] = item.html
    return entry


def _export_settings() -> dict:
    faults = []
    for fault in db.session.scalars(select(ClientFault)):
        entry = {"client": fault.client.client_id, "mode": fault.mode}
        if fault.mode == "delay":
            entry["delay_seconds"] = fault.delay_seconds
        entry["count"] = fault.remaining
        faults.append(entry)
    faults.sort(key=lambda f: f["client"].lower())
    return {
        "clock_offset_seconds": clock.offset() / timedelta(seconds=1),
        "strict_refresh_token_rotation": bool(current_app.config["STRICT_REFRESH_TOKEN_ROTATION"]),
        "faults": faults,
    }


def export(*, include_secrets: bool = False) -> dict:
    """Return the site as a scenario document; secrets (as hashes) only when asked."""
    sections = {name: exporter(include_secrets) for name, (_, exporter) in SECTIONS.items()}
    return {"version": 1, **sections}


def dump(document: dict, fmt: str = "yaml") -> str:
    """Write a scenario document as YAML or JSON text."""
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


def _load_panels(entries: list[dict], loaded: Loaded) -> None:
    """Panel sources, then their rows (a single-instance source already has an empty row for
    every party, which a row entry fills in)."""
    from imis_mock.api import catalog  # a panel may not take a declared entity's name

    for index, entry in enumerate(entries):
        where = f"panels[{index}]"
        source = _service(
            where,
            panels.save_source,
            None,
            name=entry["name"],
            parent=entry.get("parent", "Party"),
            multi_instance=entry.get("multi_instance", False),
            properties=entry["properties"],
            replace_status=entry.get("put_status", 201),
            actor=ACTOR,
            entity_taken=catalog.is_static,
        )
        for number, row in enumerate(entry.get("rows", [])):
            at = f"{where}.rows[{number}]"
            contact = None
            if row.get("party"):
                contact = db.session.scalar(select(Contact).where(Contact.imis_id == row["party"]))
                if contact is None:
                    raise _At(f"{at}.party", f"no contact {row['party']!r} in contacts or staff")
            existing = None
            if contact is not None and not source.multi_instance:
                existing = db.session.scalar(panels.rows_query(source, contact))
            if existing is not None:
                _service(
                    at, panels.update_row, source, existing, row.get("values", {}), actor=ACTOR
                )
            else:
                _service(at, panels.create_row, source, contact, row.get("values", {}), actor=ACTOR)
    loaded.counts["panels"] = len(entries)


def _export_panels() -> list[dict]:
    entries = []
    for source in panels.list_sources():
        rows = []
        for row in db.session.scalars(panels.rows_query(source)):
            values = {k: v for k, v in row.data.items() if v is not None}
            if not values and not source.multi_instance:
                continue  # the empty row every party gets
            rows.append(
                {**({"party": row.contact.imis_id} if row.contact else {}), "values": values}
            )
        entries.append(
            {
                "name": source.name,
                "parent": source.parent,
                "multi_instance": source.multi_instance,
                "put_status": source.replace_status,
                "properties": [
                    {
                        "name": p["name"],
                        "type": p["type"],
                        **({"values": p["values"]} if p["values"] else {}),
                    }
                    for p in source.properties
                ],
                "rows": rows,
            }
        )
    return entries


def _load_query_folders(entries: list[str], loaded: Loaded) -> None:
    for index, path in enumerate(entries):
        _service(f"query_folders[{index}]", iqa.ensure_folder, path)


def _export_query_folders() -> list[str]:
    """The folders that hold no query and no folder (ensure_folder makes a path's parents)."""
    folders = [folder.path for folder in iqa.list_folders()]
    used = {query.folder.path for query in iqa.list_queries()}
    return [
        path
        for path in folders
        if path not in used and not any(other.startswith(f"{path}/") for other in folders)
    ]


def _load_queries(entries: list[dict], loaded: Loaded) -> None:
    from imis_mock.api import iqa as engine  # sources are the API's catalog entries

    for index, entry in enumerate(entries):
        where = f"queries[{index}]"
        folder, _, name = entry["path"].rpartition("/")
        _service(
            where,
            iqa.save_query,
            None,
            name=name,
            folder=folder,
            source=entry["source"],
            columns=entry["columns"],
            filters=entry.get("filters", []),
            sorting=entry.get("sorting", []),
            staff_only=entry.get("staff_only", False),
            properties=engine.source_properties(entry["source"]),
            operations=set(engine.operations()),
            actor=ACTOR,
            document_key=entry.get("document_key"),
            rename={"name": "path", "folder": "path"},
        )
    loaded.counts["queries"] = len(entries)


def _export_queries() -> list[dict]:
    entries = []
    for query in iqa.list_queries():
        entry = {"path": query.path, "source": query.source, "document_key": query.document_key}
        if query.staff_only:
            entry["staff_only"] = True
        entry["columns"] = query.columns
        for name in ("filters", "sorting"):
            # Left out: empty values, unticked boxes (the schema's defaults).
            items = [
                {k: v for k, v in i.items() if v or k == "property"} for i in getattr(query, name)
            ]
            if items:
                entry[name] = items
        entries.append(entry)
    return entries


def _load_records(section: dict, loaded: Loaded) -> None:
    """Events, invoices, items, communications ... as iMIS contracts, through the API catalog's
    hooks (api/catalog/records.py), so a record loads exactly as a POST would store it."""
    from imis_mock.api.catalog.records import load_section

    loaded.counts["business_records"] = _service("business_records", load_section, section, "")


def _export_records() -> dict:
    from imis_mock.api.catalog.records import export_section

    return export_section()


def _when(value) -> str | None:
    """Write a stored date-time as a date when it is midnight (as iMIS business dates are)."""
    if value is None:
        return None
    return value.date().isoformat() if value.time() == time() else value.isoformat()


def _load_group_classes(entries: list[dict], loaded: Loaded) -> None:
    for index, entry in enumerate(entries):
        _service(
            f"group_classes[{index}]",
            groups.create_group_class,
            entry["name"],
            class_id=entry.get("class_id"),
            description=entry.get("description", ""),
            is_date_limited=entry.get("date_limited", False),
            actor=ACTOR,
        )
    loaded.counts["group_classes"] = len(entries)


def _export_group_classes() -> list[dict]:
    # The classes a new iMIS database ships with are there already (groups.ensure_shipped_rows).
    entries = []
    for group_class in groups.list_group_classes():
        if group_class.is_system:
            continue
        entry = {"class_id": group_class.imis_id, "name": group_class.name}
        if group_class.description:
            entry["description"] = group_class.description
        if group_class.is_date_limited:
            entry["date_limited"] = True
        entries.append(entry)
    return entries


def _load_group_roles(entries: list[dict], loaded: Loaded) -> None:
    for index, entry in enumerate(entries):
        _service(
            f"group_roles[{index}]",
            groups.create_role,
            entry["name"],
            role_id=entry.get("role_id"),
            description=entry.get("description", ""),
            use_dates=entry.get("use_dates", False),
            priority=entry.get("priority", 100),
            actor=ACTOR,
        )
    loaded.counts["group_roles"] = len(entries)


def _export_group_roles() -> list[dict]:
    entries = []
    for role in groups.list_roles():
        if role.imis_id == groups.MEMBER_ROLE_ID:
            continue  # shipped with every site
        entry: dict = {"role_id": role.imis_id, "name": role.name}
        if role.description != role.name:
            entry["description"] = role.description
        if role.use_dates:
            entry["use_dates"] = True
        entry["priority"] = role.priority
        entries.append(entry)
    return entries


GROUP_NAMES = {"group_id": "group_id", "group_class_id": "class", "status_code": "status"}
MEMBER_NAMES = {"party_id": "party", "role": "roles", "is_active": "active"}
ROLE_NAMES = {"is_active": "active"}


def _load_groups(entries: list[dict], loaded: Loaded) -> None:
    for index, entry in enumerate(entries):
        where = f"groups[{index}]"
        group = _service(
            where,
            groups.create_group,
            entry["name"],
            group_id=entry.get("group_id"),
            group_class_id=entry.get("class"),
            description=entry.get("description", ""),
            category=entry.get("category", ""),
            status_code=entry.get("status", "A"),
            actor=ACTOR,
            rename=GROUP_NAMES,
        )
        for number, spec in enumerate(entry.get("members", [])):
            at = f"{where}.members[{number}]"
            roles = [
                groups.RoleDates(
                    role=role["role"],
                    effective_date=role.get("effective_date"),
                    expiration_date=role.get("expiration_date"),
                    is_active=role.get("active", True),
                )
                for role in spec.get("roles", [])
            ]
            try:
                member = _service(
                    at,
                    groups.add_member,
                    group.imis_id,
                    spec["party"],
                    roles=roles or None,
                    join_date=spec.get("join_date"),
                    actor=ACTOR,
                    rename=MEMBER_NAMES,
                )
            except _At as error:
                raise _At(_role_position(error.where, spec, at), error.message) from None
            if not spec.get("active", True):
                _service(at, groups.update_member, member, is_active=False, actor=ACTOR)
    loaded.counts["groups"] = len(entries)


def _role_position(where: str, spec: dict, at: str) -> str:
    """Point at the role the service refused: it names the field (role, effective_date), not
    which of the member's roles holds it, so ask the same service functions which one."""
    name = where.removeprefix(f"{at}.")
    checks = {
        "roles": ("role", groups.get_role),
        "effective_date": ("effective_date", _valid_date),
        "expiration_date": ("expiration_date", _valid_date),
    }
    if name not in checks:
        return where
    key, check = checks[name]
    for number, role in enumerate(spec.get("roles", [])):
        if not check(role.get(key)):
            return f"{at}.roles[{number}].{key}"
    return where


def _valid_date(value) -> bool:
    try:
        values.naive_datetime(value, "date")
    except ServiceError:
        return False
    return True


def _export_groups() -> list[dict]:
    entries = []
    for group in groups.list_groups():
        entry: dict = {"group_id": group.imis_id, "name": group.name}
        if group.description:
            entry["description"] = group.description
        entry["class"] = group.group_class.imis_id
        if group.category:
            entry["category"] = group.category
        if group.status_code != "A":
            entry["status"] = group.status_code
        members = []
        for member in groups.list_members(group_id=group.imis_id):
            spec: dict = {"party": member.contact.imis_id}
            if member.join_date is not None:
                spec["join_date"] = _when(member.join_date)
            if not member.is_active:
                spec["active"] = False
            spec["roles"] = []
            for detail in member.details:
                role: dict = {"role": detail.role.name}
                for name in ("effective_date", "expiration_date"):
                    if getattr(detail, name) is not None:
                        role[name] = _when(getattr(detail, name))
                if not detail.is_active:
                    role["active"] = False
                spec["roles"].append(role)
            members.append(spec)
        entry["members"] = members
        entries.append(entry)
    return entries


# The scenario's name of each activity field (the model's, but "type" and "party").
ACTIVITY_NAMES = {"activity_type": "type", "party_id": "party"}
ACTIVITY_ORDER = dict.fromkeys(("activity_type", *activities.DATE_FIELDS, *activities.FIELDS))


def _load_activities(entries: list[dict], loaded: Loaded) -> None:
    scenario_names = {v: k for k, v in ACTIVITY_NAMES.items()}
    for index, entry in enumerate(entries):
        fields = {
            scenario_names.get(name, name): value
            for name, value in entry.items()
            if name != "party"
        }
        _service(
            f"activities[{index}]",
            activities.create_activity,
            entry["party"],
            actor=ACTOR,
            rename=ACTIVITY_NAMES,
            **fields,
        )
    loaded.counts["activities"] = len(entries)


def _export_activities() -> list[dict]:
    # In the order they were recorded, which a load keeps (ActivityId is not kept: a new SEQN).
    entries = []
    for activity in db.session.scalars(select(Activity).order_by(Activity.id)):
        entry: dict = {"party": activity.contact.imis_id}
        for name in ACTIVITY_ORDER:
            value = getattr(activity, name)
            if value is None or value == "" or value is False:
                continue
            if name in activities.DATE_FIELDS:
                value = _when(value)
            elif name in activities.DECIMAL_FIELDS:
                value = str(value)  # exact: numeric(15,2)
            entry[ACTIVITY_NAMES.get(name, name)] = value
        entries.append(entry)
    return entries


# Each top-level section: its loader (document part, Loaded) and exporter. Order matters: party
# statuses first; staff, contacts, then parties, the order lists of parties show (people's
# employers are linked once the parties are in); people and client applications before the content
# that names them; settings last.
SECTIONS: dict[str, tuple[Callable, Callable]] = {
    "party_statuses": (_load_party_statuses, lambda _: _export_party_statuses()),
    "staff": (
        lambda part, loaded: _load_people(part, loaded, staff=True),
        lambda secrets_: _export_people(staff=True, include_secrets=secrets_),
    ),
    "contacts": (
        lambda part, loaded: _load_people(part, loaded, staff=False),
        lambda secrets_: _export_people(staff=False, include_secrets=secrets_),
    ),
    "parties": (_load_parties, lambda _: _export_parties()),
    "client_applications": (_load_clients, _export_clients),
    "content": (_load_content, lambda _: _export_content()),
    "group_classes": (_load_group_classes, lambda _: _export_group_classes()),
    "group_roles": (_load_group_roles, lambda _: _export_group_roles()),
    "groups": (_load_groups, lambda _: _export_groups()),
    "activities": (_load_activities, lambda _: _export_activities()),
    "panels": (_load_panels, lambda _: _export_panels()),
    "query_folders": (_load_query_folders, lambda _: _export_query_folders()),
    "queries": (_load_queries, lambda _: _export_queries()),
    "business_records": (_load_records, lambda _: _export_records()),
    "settings": (_load_settings, lambda _: _export_settings()),
}
