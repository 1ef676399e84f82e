"""IQA folders and query definitions (Staff site > RiSE > Intelligent Query Architect).

A query names its source (a catalog entity, e.g. Party or a panel source), display columns with
aliases, filters (a fixed value, or a Prompt that becomes a positional `parameter=`), and
sorting. The checks that need the source's properties get them from the caller (the staff view
asks api/iqa.py), so this module stays free of the API. Functions flush; the caller commits.
"""

import json
import uuid
from dataclasses import dataclass, field

from sqlalchemy import Exists, Text, bindparam, cast, exists, func, select

from imis_mock.database import CompiledSelect
from imis_mock.extensions import db
from imis_mock.models import IqaFolder, IqaQuery
from imis_mock.services import ServiceError, audit

ROOT = "$"
COMMON = "$/Common"
NAME_LIMIT = 100


def normalise_folder(path: str) -> str:
    """`Sites/Members`, `$/Sites/Members/` -> `$/Sites/Members`."""
    parts = [p.strip() for p in (path or "").replace("\\", "/").split("/") if p.strip()]
    if parts and parts[0] == ROOT:
        parts = parts[1:]
    if not parts:
        raise ServiceError("A folder needs a name under $/.", "path")
    if any(len(p) > 60 or p in (".", "..") for p in parts):
        raise ServiceError("A folder name has at most 60 characters.", "path")
    return "/".join([ROOT, *parts])


def list_folders() -> list[IqaFolder]:
    return list(db.session.scalars(select(IqaFolder).order_by(func.lower(IqaFolder.path))))


def get_folder(path: str) -> IqaFolder | None:
    return db.session.scalar(select(IqaFolder).where(func.lower(IqaFolder.path) == path.lower()))


def ensure_folder(path: str) -> IqaFolder:
    """The folder at `path`, created (with its parents) if missing."""
    path = normalise_folder(path)
    parts = path.split("/")
    folder = None
    for end in range(2, len(parts) + 1):
        prefix = "/".join(parts[:end])
        folder = get_folder(prefix)
        if folder is None:
            folder = IqaFolder(path=prefix)
            db.session.add(folder)
            db.session.flush()
    return folder


def list_queries(folder: IqaFolder | None = None) -> list[IqaQuery]:
    query = select(IqaQuery).join(IqaQuery.folder).order_by(func.lower(IqaFolder.path))
    if folder is not None:
        query = query.where(IqaQuery.folder_id == folder.id)
    return list(db.session.scalars(query.order_by(IqaQuery.name_key)))


@dataclass(frozen=True)
class QueryRecord:
    """A query's definition as plain values (the attributes of IqaQuery that running it and
    describing it read), read with SQLAlchemy Core: /api/IQA and /api/query read one on every
    call, and loading an IqaQuery with its folder through the ORM cost more than the run's own
    SQL. `stored` is the row as read (the JSON columns as their text), for unchanged()."""

    id: int
    name: str
    folder_path: str
    source: str
    columns: list
    filters: list
    sorting: list
    staff_only: bool
    document_key: str
    stored: dict = field(repr=False, compare=False)

    @property
    def path(self) -> str:
        return f"{self.folder_path}/{self.name}"

    @classmethod
    def of(cls, row: dict) -> "QueryRecord":
        decoded = {name: json.loads(row[name]) for name in JSON_FIELDS}
        return cls(**(row | decoded), stored=row)


QUERIES, FOLDERS = IqaQuery.__table__, IqaFolder.__table__
JSON_FIELDS = ("columns", "filters", "sorting")
# What a QueryRecord is read from. The JSON columns are read as their text (decoded in
# QueryRecord.of), so that unchanged() can compare them on either database (PostgreSQL has no
# `=` for json).
_FIELDS = {
    name: cast(QUERIES.c[name], Text) if name in JSON_FIELDS else QUERIES.c[name]
    for name in QueryRecord.__dataclass_fields__
    if name not in ("folder_path", "stored")
} | {"folder_path": FOLDERS.c.path}
_JOINED = QUERIES.join(FOLDERS, QUERIES.c.folder_id == FOLDERS.c.id)
_DEFINITION = select(*(column.label(name) for name, column in _FIELDS.items())).select_from(_JOINED)
# How a request names a query: by path (folder and name, any case), or by document key.
LOOKUPS = {
    "path": (
        func.lower(FOLDERS.c.path) == bindparam("p_folder"),
        QUERIES.c.name_key == bindparam("p_name"),
    ),
    "key": (QUERIES.c.document_key == bindparam("p_key"),),
}
# Compiled once with bind parameters (database.CompiledSelect).
_BY = {by: CompiledSelect(_DEFINITION.where(*where)) for by, where in LOOKUPS.items()}


def path_lookup(path: str) -> dict | None:
    """The lookup's parameters for the query at `$/Folder/Name`; None for no such path."""
    folder_path, _, name = (path or "").strip().rpartition("/")
    if not folder_path or not name:
        return None
    return {"p_folder": folder_path.lower(), "p_name": name.strip().lower()}


def key_lookup(key: str) -> dict:
    """The lookup's parameters for the query with this document version key (a GUID)."""
    return {"p_key": (key or "").strip().lower()}


def find_by_path(path: str) -> QueryRecord | None:
    """The query at `$/Folder/Name`, matched regardless of letter case."""
    lookup = path_lookup(path)
    row = None if lookup is None else _BY["path"].first(**lookup)
    return None if row is None else QueryRecord.of(row)


def find_by_key(key: str) -> QueryRecord | None:
    """The query with this document version key (a GUID, any case)."""
    row = _BY["key"].first(**key_lookup(key))
    return None if row is None else QueryRecord.of(row)


def unchanged(by: str) -> Exists:
    """A condition, true while the lookup `by` ("path" or "key") still finds a query stored
    exactly as a record read before (its parameters: the lookup's and unchanged_values()).

    So a statement planned from a definition can carry the check that the definition is
    still the one stored, instead of reading it first.
    """
    same = (column == bindparam(f"q_{name}") for name, column in _FIELDS.items())
    return exists(select(QUERIES.c.id).select_from(_JOINED).where(*LOOKUPS[by], *same))


def unchanged_values(record: QueryRecord) -> dict:
    """The parameters of unchanged() for the record."""
    return {f"q_{name}": value for name, value in record.stored.items()}


def save_query(
    query: IqaQuery | None,
    *,
    name: str,
    folder: str,
    source: str,
    columns: list[dict],
    filters: list[dict],
    sorting: list[dict],
    staff_only: bool = False,
    properties: dict[str, str],
    operations: set[str],
    actor: str,
    document_key: str | None = None,
) -> IqaQuery:
    """Create or change a query after checking it against its source's `properties` (name ->
    type); nothing is stored when a check fails. A new query gets a new document version key
    unless one is given (scenario files and the demo keep theirs)."""
    name = (name or "").strip()
    if not name or len(name) > NAME_LIMIT or "/" in name:
        raise ServiceError("Name is required (100 characters at most, no /).", "name")
    if not properties:
        raise ServiceError("Choose a source.", "source")
    by_key = {p.lower(): p for p in properties}

    def known(prop: str, what: str) -> str:
        found = by_key.get((prop or "").strip().lower())
        if found is None:
            raise ServiceError(f"{what}: '{prop}' is not a property of {source}.", what.lower())
        return found

    checked_columns, aliases = [], set()
    for column in columns:
        if not (column.get("property") or "").strip():
            continue
        prop = known(column["property"], "Columns")
        alias = (column.get("alias") or "").strip() or prop.rsplit(".", 1)[-1]
        if alias.lower() in aliases or alias.lower() == "resultrow":
            raise ServiceError(f"The alias '{alias}' is used twice.", "columns")
        aliases.add(alias.lower())
        checked_columns.append({"property": prop, "alias": alias})
    if not checked_columns:
        raise ServiceError("A query needs at least one display column.", "columns")
    checked_filters = []
    for item in filters:
        if not (item.get("property") or "").strip():
            continue
        operator = item.get("operator") or "eq"
        if operator not in operations:
            raise ServiceError(f"The operator '{operator}' is not valid.", "filters")
        prompt = (item.get("prompt") or "").strip()
        checked_filters.append(
            {
                "property": known(item["property"], "Filters"),
                "operator": operator,
                "value": "" if prompt else (item.get("value") or "").strip(),
                "prompt": prompt,
                "required": bool(prompt and item.get("required")),
            }
        )
    checked_sorting = [
        {"property": known(s["property"], "Sorting"), "descending": bool(s.get("descending"))}
        for s in sorting
        if (s.get("property") or "").strip()
    ]
    target = ensure_folder(folder)
    clash = find_by_path(f"{target.path}/{name}")
    if clash is not None and (query is None or clash.id != query.id):
        raise ServiceError(f"{target.path} already has a query named {clash.name}.", "name")
    created = query is None
    if created:
        key = (document_key or "").strip().lower() or str(uuid.uuid4())
        try:
            key = str(uuid.UUID(key))
        except ValueError:
            raise ServiceError(f"'{document_key}' is not a GUID.", "document_key") from None
        if find_by_key(key) is not None:
            raise ServiceError(f"Another query has the document key {key}.", "document_key")
        query = IqaQuery(document_key=key)
        db.session.add(query)
    query.folder, query.name, query.name_key = target, name, name.lower()
    query.source, query.staff_only = source, bool(staff_only)
    query.columns, query.filters, query.sorting = checked_columns, checked_filters, checked_sorting
    db.session.flush()
    audit.record(
        "iqa.create" if created else "iqa.update", "success", actor=actor, detail={"path": name}
    )
    return query


def delete_query(query: IqaQuery, *, actor: str) -> None:
    path = query.path
    db.session.delete(query)
    db.session.flush()
    audit.record("iqa.delete", "success", actor=actor, detail={"path": path})


def prompts(query: IqaQuery) -> list[dict]:
    """The query's parameters, in the order `parameter=` values fill them."""
    return [f for f in query.filters if f.get("prompt")]
