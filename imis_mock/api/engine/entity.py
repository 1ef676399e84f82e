"""What a catalog entry is: an entity's names, identity, properties, verbs, aliases and hooks.

The engine reads entries; it never names an entity. imis_mock/api/catalog/ holds the entries.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, cached_property

from sqlalchemy import ColumnElement, Select

# The standard route set (reference §1.5), as verbs an entry may have.
VERBS = (
    "list",
    "get",
    "create",
    "replace",
    "delete",
    "execute",
    "validate",
    "haspermission",
    "changelog",
    "metadata",
)
ALL_VERBS = frozenset(VERBS)
# How an id is written in the URL (reference §1.6).
IDENTITY_KINDS = ("numeric", "guid", "text", "composite", "slash")


@dataclass(frozen=True)
class Prop:
    """A property of the records an entity returns.

    `name` is its JSON path ("PersonName.LastName"); `type` the metadata PropertyTypeName
    (String, Boolean, Integer, Decimal, Date); `column` the SQL expression behind it, which makes
    it filterable and orderable (None: shown in metadata only).
    """

    name: str
    type: str = "String"
    column: ColumnElement | None = None
    identity: bool = False

    @property
    def label(self) -> str:
        return self.name.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class Changes:
    """Where the mock records an entity's changes: the audit events its services write.

    `actions`: audit action -> (the ChangeType it is, the detail key holding the row's id).
    `since`: the row's creation time, when ids can be given again (a party's numeric id is
    the largest plus one): older events are about an earlier row that had the id.
    """

    actions: dict[str, tuple[str, str]]
    since: ColumnElement | None = None


@dataclass(eq=False)
class Entity:
    """One catalog entry. Hooks are plain functions; the defaults serve a plain table.

    Hooks (all optional except `to_wire` for entities that are not plain):
    - to_wire(row) -> dict: the record as iMIS sends it.
    - to_text(row) -> str: json_text(to_wire(row)), written faster (wire.Shape); a list page
      uses it.
    - read(body, row | None) -> dict: a write body's values, checked (raise Invalid).
    - write(values, row | None, caller) -> row: store them (add to the session; the engine
      flushes, checks access and commits).
    - remove(row, caller): delete a row (default: the session deletes it).
    - load(caller, key) -> row: a faster one-row read for GET (must apply access.by_key's rule).
    """

    name: str
    description: str
    item_type: str
    properties: tuple[Prop, ...]
    # Rows the list and the one-row reads select (ORM entities), before filters and access.
    query: Callable[[], Select]
    # The identity column(s) the URL id is compared to (one per element of a composite key).
    key: tuple[ColumnElement, ...]
    # Default list order (stable paging).
    order: tuple[ColumnElement, ...]
    identity: str = "numeric"
    verbs: frozenset[str] = ALL_VERBS
    # Filter keys (any case) -> property names (`lastname` -> "PersonName.LastName"), or a Prop
    # for a filter on something the record does not show.
    aliases: dict[str, str | Prop] = field(default_factory=dict)
    # Who owns a row: ("party", column holding contacts.id), ("user", column holding users.id),
    # or None for shared data (everyone reads, staff write). See engine/access.py.
    owner: tuple[str, ColumnElement] | None = None
    # Writes a member may make to rows they own (staff make every write the entity has).
    member_writes: frozenset[str] = frozenset({"create", "replace", "delete"})
    # Other top-level `$type`s a write may carry (ComboPartyData on Party).
    accepts: tuple[str, ...] = ()
    # Body properties that carry the id on PUT (compared with the URL's).
    id_properties: tuple[str, ...] = ()
    # Named operations for _execute: OperationName (any case) -> fn(caller, body) -> result.
    operations: dict[str, Callable] = field(default_factory=dict)
    # False: GET /api/metadata/{E} answers 501, as iMIS does for BO-backed sources [I].
    metadata: bool = True
    # PUT's status: 200 [C: PM-ENT]; some clients expect 201 from GenericEntityData sources
    # (reference §3.1), so such an entry may set 201.
    replace_status: int = 200
    # BOEntityDefinition's ObjectTypeName: "Standard", "Single" or "Multi" [C: TS-migrate].
    object_type: str = "Standard"
    # Top-level properties that are collections, for metadata: name -> "collection" (of
    # objects) or "attributes" (a GenericPropertyDataCollection).
    collections: dict[str, str] = field(default_factory=dict)
    # True: GET /api/{E}/{first key element} (no `~`) answers a PagedResult of the rows under it,
    # as a multi-instance panel's rows of one party (`/api/Name_CEU/23179`, reference §7.1) [I].
    lists_by_first_key: bool = False
    # Where the mock records this entity's changes, for GET {id}/changelog (None: always empty).
    changes: Changes | None = None
    # The model a plain entity stores (default read/write hooks); None with write hooks.
    model: type | None = None
    # Optional, for speed: a Core select of the columns to_wire reads and a class that wraps one
    # row (given as a dict of its columns). A list page then reads those rows instead of loading
    # ORM objects.
    records: tuple[Select, Callable] | None = None
    to_wire: Callable | None = None
    to_text: Callable | None = None
    read: Callable | None = None
    write: Callable | None = None
    remove: Callable | None = None
    load: Callable | None = None

    def __post_init__(self):
        assert self.identity in IDENTITY_KINDS, self.identity
        assert self.verbs <= ALL_VERBS, self.verbs - ALL_VERBS
        assert self.changes is None or len(self.key) == 1, "changes need a one-column key"
        if not self.operations:
            # _execute serves the entry's named operations: without any, the route is absent.
            self.verbs = self.verbs - {"execute"}

    def has(self, verb: str) -> bool:
        return verb in self.verbs

    @property
    def slash_ids(self) -> bool:
        return self.identity == "slash"

    @property
    def write_types(self) -> tuple[str, ...]:
        return (self.item_type, *self.accepts)

    def routes(self) -> list[tuple[str, str, dict[str, str]]]:
        """The entry's part of the standard route set: (kind, path under /api, {method: verb}).

        A path appears when the entity has at least one of its verbs; werkzeug answers the
        other methods 405 with Allow. Ids containing "/" take the rest of the path, so such
        entities have no /changelog route (the reference's rule, §1.6).
        """
        key = "<path:key>" if self.slash_ids else "<key>"
        routes = [
            ("collection", f"/{self.name}", {"GET": "list", "POST": "create"}),
            ("execute", f"/{self.name}/_execute", {"POST": "execute"}),
            ("validate", f"/{self.name}/_validate", {"POST": "validate"}),
            (
                "haspermission",
                f"/{self.name}/_haspermission/<operation>",
                {"POST": "haspermission"},
            ),
            ("item", f"/{self.name}/{key}", {"GET": "get", "PUT": "replace", "DELETE": "delete"}),
        ]
        if not self.slash_ids:
            routes.append(("changelog", f"/{self.name}/<key>/changelog", {"GET": "changelog"}))
        found = []
        for kind, path, methods in routes:
            mine = {m: v for m, v in methods.items() if self.has(v)}
            if mine:
                found.append((kind, path, mine))
        return found

    def filter_index(self) -> dict[str, Prop]:
        return _filter_index(self)

    def prop(self, name: str) -> Prop | None:
        return self._props.get(name.lower())

    @cached_property
    def _props(self) -> dict[str, Prop]:
        return {p.name.lower(): p for p in self.properties}


@cache
def _filter_index(entity: Entity) -> dict[str, Prop]:
    """Filter keys (lower case) -> property: full JSON paths, then the aliases."""
    filterable = [p for p in entity.properties if p.column is not None]
    index: dict[str, Prop] = {}
    for prop in filterable:
        index[prop.name.lower()] = prop
    for alias, target in entity.aliases.items():
        prop = target if isinstance(target, Prop) else entity.prop(target)
        assert prop is not None and prop.column is not None, (entity.name, alias)
        index[alias.lower()] = prop
    return index
