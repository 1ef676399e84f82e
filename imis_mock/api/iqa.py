"""The IQA engine: run a query definition over its catalog source, under the caller's rights,
and shape the page two ways (reference §8): `/api/IQA` GenericEntityData rows, `/api/query`
ExpandoObject rows.

Sources are catalog entries (every entity with a list and filterable properties, panel sources
included), so a new entity is a source at once. Filters, operators, parameters' operator
prefixes, paging and the member's row rule are the engine's (engine/filters.py, access.py).
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, partial

from sqlalchemy import bindparam, func, inspect, select

from imis_mock.api import catalog
from imis_mock.api.engine import access, filters, wire
from imis_mock.api.engine.entity import Entity
from imis_mock.api.engine.errors import AccessDenied, ApiError, NotFound
from imis_mock.database import CompiledSelect
from imis_mock.models import IqaQuery
from imis_mock.services import iqa, parties
from imis_mock.services.accounts import UserRecord

# The names iMIS's IQA shows for the business objects it knows; other sources show their name.
LABELS = {"Party": "Contacts", "Activity": "Activities", "GroupMember": "Group members"}
LABELS |= {"Event": "Events"}
# [I] EntityTypeName of an /api/IQA row is a number iMIS assigns per source ("48" for contact
# queries in DEV's example); other sources get "9", one of the values seen.
PARTY_ROWS, OTHER_ROWS = "48", "9"


def sources() -> list[tuple[str, str]]:
    """(entity name, label) of every source, the named business objects first."""
    entries = [e for e in catalog.all_entries() if e.has("list") and _properties(e)]
    first = [e for name in LABELS for e in entries if e.name == name]
    rest = sorted((e for e in entries if e not in first), key=lambda e: e.name.lower())
    return [(e.name, LABELS.get(e.name, e.name)) for e in first + rest]


def _properties(entity: Entity) -> dict[str, str]:
    return {p.name: p.type for p in entity.properties if p.column is not None}


def source_properties(name: str) -> dict[str, str]:
    """A source's properties (name -> type) a query may show, filter or sort on."""
    entity = catalog.find(name or "")
    return {} if entity is None else _properties(entity)


def operations() -> dict[str, str]:
    return dict(filters.OPERATION_NAMES)


@dataclass
class Result:
    """One page of a query: its aliases, and rows of (party id or None, values in their order)."""

    aliases: tuple[str, ...]
    rows: list[tuple[str | None, tuple]]
    page: filters.Page
    party_rows: bool


def _named(args: dict[str, list[str]]) -> tuple[str, str]:
    """("path", path) or ("key", document key): how the request names its query, by
    QueryName, QueryPath or querydocumentversionkey."""
    for key in ("queryname", "querypath"):
        if args.get(key):
            path = args[key][-1].strip()
            if not path:
                break
            return "path", path
    if args.get("querydocumentversionkey"):
        return "key", args["querydocumentversionkey"][-1].strip()
    raise ApiError("The parameter 'QueryName' is required.")


def find(args: dict[str, list[str]]) -> iqa.QueryRecord | str:
    """The query the request names by QueryName, QueryPath or querydocumentversionkey; a
    built-in query (`$/OAuth2/userInfo`) is answered by its path."""
    by, name = _named(args)
    if by == "path":
        found = iqa.find_by_path(name)
        if found is not None:
            return found
        if name.lower() in parties.QUERIES:
            return name.lower()
        raise NotFound(f"The query '{name}' was not found.")
    found = iqa.find_by_key(name)
    if found is None:
        raise NotFound(f"No query was found with the document version key '{name}'.")
    return found


def _conditions(query: "Definition", entity: Entity, parameters: tuple[str, ...]) -> list:
    found, position = [], 0
    for item in map(dict, query.filters):
        prop = entity.prop(item["property"])
        if prop is None or prop.column is None:
            raise ApiError(f"The query '{query.path}' filters on an unknown property.")
        if item.get("prompt"):
            raw = parameters[position] if position < len(parameters) else ""
            position += 1
            if raw.strip() == "":
                if item.get("required"):
                    raise ApiError(f"The parameter '{item['prompt']}' is required.")
                continue
            found.append(filters.condition(prop, raw, item["operator"]))
        else:
            found.append(filters.condition(prop, f"{item['operator']}:{item['value']}"))
    return found


@dataclass(frozen=True)
class Definition:
    """What a query's SQL is built from, hashable: a plan is kept for each (see _plan)."""

    path: str
    columns: tuple[tuple[str, str], ...]
    filters: tuple[tuple[tuple[str, object], ...], ...]
    sorting: tuple[tuple[str, bool], ...]

    @classmethod
    def of(cls, query: IqaQuery | iqa.QueryRecord) -> "Definition":
        return cls(
            query.path,
            tuple((c["property"], c["alias"]) for c in query.columns),
            tuple(tuple(sorted(f.items())) for f in query.filters),
            tuple((s["property"], bool(s["descending"])) for s in query.sorting),
        )


@dataclass(frozen=True)
class Plan:
    """A query's two statements for one caller and parameters, compiled once per database: the
    count, and the page (bind parameters p_offset and p_limit) whose rows are the columns'
    values, then the party id when the rows are rooted on a party and no column gives it."""

    count: CompiledSelect
    page: CompiledSelect
    aliases: tuple[str, ...]
    party_rows: bool
    # Where a page row holds the party id: a display column's place when one is the party's
    # own (as PartyId is), else the column after them.
    party_at: int


@lru_cache(maxsize=256)
def _plan(
    entity: Entity, definition: Definition, caller: UserRecord, parameters: tuple[str, ...]
) -> Plan:
    """Build the SQL of a query: the caller's rows (access.py), the filters with the prompts'
    values, the display columns, the sorting, then the source's own order.

    A function of its arguments alone (a catalog entry does not change; a panel source that
    changes is a new entry), so its result is kept: building and compiling the statements cost
    more than running them. A refused query (a missing required parameter) raises every time.
    """
    conditions = _conditions(definition, entity, parameters)
    statement = access.readable(entity, caller, entity.query()).where(*conditions)
    columns = [entity.prop(name) for name, _ in definition.columns]
    sorts = [entity.prop(name) for name, _ in definition.sorting]
    if any(p is None or p.column is None for p in columns + sorts):
        # The source changed under the query (a panel property removed): say so, not a 500.
        raise ApiError(f"The query '{definition.path}' names a property its source no longer has.")
    # Rows of a source that names a party are rooted on it (PrimaryParentIdentity).
    party = filters.resolve(entity, "partyid")
    order = []
    for (_, descending), prop in zip(definition.sorting, sorts, strict=True):
        order.append(prop.column.desc() if descending else prop.column.asc())
    selected, party_at = [c.column for c in columns], 0
    if party is not None:
        # A display column that is the party's id (PartyId) gives it; else one more column.
        same = [n for n, column in enumerate(selected) if column is party.column]
        party_at = same[0] if same else len(selected)
        selected += [] if same else [party.column]
    pk = tuple(inspect(statement.column_descriptions[0]["entity"]).primary_key)
    count = select(func.count().label("total")).select_from(
        statement.with_only_columns(*pk).subquery()
    )
    page = (
        statement.with_only_columns(*selected)
        .order_by(*order, *entity.order)
        .offset(bindparam("p_offset"))
        .limit(bindparam("p_limit"))
    )
    aliases = tuple(alias for _, alias in definition.columns)
    rooted = party is not None
    return Plan(CompiledSelect(count), CompiledSelect(page), aliases, rooted, party_at)


def run(
    query: IqaQuery | iqa.QueryRecord | str, caller: UserRecord, args: dict[str, list[str]]
) -> Result:
    """Run a query for the caller: their rights decide which rows it sees."""
    return _run(query, caller, args)[0]


def _run(
    query: IqaQuery | iqa.QueryRecord | str, caller: UserRecord, args: dict[str, list[str]]
) -> tuple[Result, Plan | None, Entity | None]:
    offset, limit = filters.paging(args)
    if isinstance(query, str):
        # The built-in queries are functions of the caller (services/parties.py).
        rows = parties.QUERIES[query](caller)
        page = filters.Page(rows[offset : offset + limit], offset, limit, len(rows))
        aliases = tuple(rows[0]) if rows else ()
        found = [(None, tuple(r[alias] for alias in aliases)) for r in page.items]
        return Result(aliases, found, page, False), None, None
    if query.staff_only and not access.is_staff(caller):
        raise AccessDenied(f"You do not have permission to run the query '{query.path}'.")
    entity = catalog.find(query.source)
    if entity is None:
        raise ApiError(f"The source '{query.source}' of the query '{query.path}' is not available.")
    plan = _plan(entity, Definition.of(query), caller, tuple(args.get("parameter", ())))
    total = plan.count.first()["total"]
    found = plan.page.all(p_offset=offset, p_limit=limit) if offset < total else []
    return _result(plan, found, offset, limit, total), plan, entity


def _result(plan: Plan, found: list[tuple], offset: int, limit: int, total: int) -> Result:
    """The Result of a plan's page rows (any columns after the plan's own are left out)."""
    width, party_at = len(plan.aliases), plan.party_at
    if plan.party_rows:
        rows = [(v[party_at], v[:width]) for v in found]
    else:
        rows = [(None, v[:width]) for v in found]
    return Result(plan.aliases, rows, filters.Page(rows, offset, limit, total), plan.party_rows)


@dataclass(frozen=True)
class Known:
    """A stored query that gave rows to a caller with these parameters: its plan, and the plan's
    page in one statement that also gives the total and checks that the query is stored as it
    was read (`checked`, run with `values`)."""

    source: str
    entity: Entity
    plan: Plan
    checked: CompiledSelect
    values: dict


# The queries known, by (lookup, its parameters, caller, the query's parameters); at most
# KNOWN_LIMIT, the oldest forgotten first.
_KNOWN: dict[tuple, Known] = {}
KNOWN_LIMIT = 256
_KNOWN_LOCK = threading.Lock()


@lru_cache(maxsize=256)
def _checked(plan: Plan, by: str) -> CompiledSelect:
    """The plan's page with its total as a last column, and no rows at all unless the lookup
    `by` still finds the query stored as it was read (services/iqa.py: unchanged)."""
    total = plan.count.statement.scalar_subquery().label("total")
    return CompiledSelect(plan.page.statement.add_columns(total).where(iqa.unchanged(by)))


def _known_page(known: Known, args: dict[str, list[str]]) -> Result | None:
    """The page of a known query as one read; None when that cannot answer: the query or its
    source changed, the page is empty (its total is then unknown), or the paging is refused
    (the whole run says why, in its order)."""
    if catalog.find(known.source) is not known.entity:
        return None
    try:
        offset, limit = filters.paging(args)
    except ApiError:
        return None
    found = known.checked.all(**known.values, p_offset=offset, p_limit=limit)
    return _result(known.plan, found, offset, limit, found[0][-1]) if found else None


def run_named(args: dict[str, list[str]], caller: UserRecord) -> Result:
    """Run the query the request names (find()) for the caller.

    The definition is not read first when the same caller ran the query with the same
    parameters before: the page's one statement checks that it is unchanged (_known_page). A
    query changed, renamed or removed gives no rows there, and runs as the first time did.
    """
    by, name = _named(args)
    lookup = iqa.path_lookup(name) if by == "path" else iqa.key_lookup(name)
    key = (by, lookup and tuple(lookup.values()), caller, tuple(args.get("parameter", ())))
    known = _KNOWN.get(key)
    if known is not None:
        result = _known_page(known, args)
        if result is not None:
            return result
    query = find(args)
    result, plan, entity = _run(query, caller, args)
    if plan is not None and lookup is not None and result.rows:
        values = {**lookup, **iqa.unchanged_values(query)}
        learned = Known(query.source, entity, plan, _checked(plan, by), values)
        with _KNOWN_LOCK:
            _KNOWN.pop(key, None)
            _KNOWN[key] = learned
            while len(_KNOWN) > KNOWN_LIMIT:
                del _KNOWN[next(iter(_KNOWN))]
    return result


def _iqa_row(entity_type: str, names: tuple[str, ...], rooted: bool, *values) -> dict:
    parent, values = (values[0], values[1:]) if rooted else (None, values)
    return wire.iqa_row(entity_type, parent, list(zip(names, values, strict=True)))


def _query_row(aliases: tuple[str, ...], *values) -> dict:
    return wire.expando(dict(zip(aliases, map(wire.native, values), strict=True)))


@lru_cache(maxsize=512)
def _template(shape: Callable[..., dict], fixed: tuple, count: int) -> wire.Template:
    """The Template of a row shape given its fixed arguments (a query's names): the same for
    every page of the query, so it is made once."""
    return wire.Template(partial(shape, *fixed), count)


def iqa_page(result: Result) -> str:
    """`/api/IQA`'s JSON: GenericEntityData rows, Properties from ResultRow (1-based, as text)."""
    rooted = result.party_rows
    names = ("ResultRow", *result.aliases)
    start = result.page.offset + 1
    # One template for the page: a party source's row without a party (None) is not text, so
    # the template has the shape write it, and the shape (wire.iqa_row) writes it unrooted.
    if rooted:
        records = [(p, str(n), *values) for n, (p, values) in enumerate(result.rows, start)]
    else:
        records = [(str(n), *values) for n, (_, values) in enumerate(result.rows, start)]
    entity_type = PARTY_ROWS if rooted else OTHER_ROWS
    template = _template(_iqa_row, (entity_type, names, rooted), len(names) + rooted)
    items = template.fill_all(records)
    return wire.paged_text(wire.GENERIC_ENTITY, items, len(records), result.page)


def query_page(result: Result) -> str:
    """`/api/query`'s JSON: ExpandoObject rows keyed by alias, plain JSON values."""
    records = [values for _, values in result.rows]
    template = _template(_query_row, (result.aliases,), len(result.aliases))
    return wire.paged_text(None, template.fill_all(records), len(records), result.page)


def answer_iqa(args: dict[str, list[str]], caller: UserRecord) -> str:
    """GET /api/IQA's JSON for the query string's arguments (lower-cased keys)."""
    return iqa_page(run_named(args, caller))


def answer_query(args: dict[str, list[str]], caller: UserRecord) -> str:
    """GET /api/query's JSON for the query string's arguments (lower-cased keys)."""
    return query_page(run_named(args, caller))


def definition(query: IqaQuery) -> dict:
    """IqaQueryDefinitionData for `FindByPath` (§8.3) [I: the nested `$type`s]."""
    properties = source_properties(query.source)
    columns = [
        {
            "$type": wire.contract(wire.CORE, "QueryPropertyData"),
            "Name": c["alias"],
            "PropertyName": c["property"],
            "Alias": c["alias"],
            "Caption": c["alias"],
            "DisplayOrder": n,
            "DataTypeName": properties.get(c["property"], "String"),
        }
        for n, c in enumerate(query.columns)
    ]
    parameters = [
        {
            "$type": wire.contract(wire.CORE, "CriteriaData"),
            "PropertyName": f["property"],
            "Operation": filters.OPERATION_NAMES.get(f["operator"], f["operator"]),
            "Caption": f["prompt"],
            "IsRequired": f["required"],
        }
        for f in iqa.prompts(query)
    ]
    label = LABELS.get(query.source, query.source)
    return {
        "$type": wire.contract(wire.CORE, "IqaQueryDefinitionData"),
        "QueryDefinitionId": query.document_key.upper(),
        "Path": query.path,
        "Parameters": wire.collection(
            wire.contract(wire.CORE, "CriteriaDataCollection"), parameters
        ),
        "Properties": wire.collection(
            wire.contract(wire.CORE, "QueryPropertyDataCollection"), columns
        ),
        "Relations": wire.collection(wire.contract(wire.CORE, "QueryRelationDataCollection"), []),
        "Sources": wire.collection(
            wire.contract(wire.CORE, "QuerySourceDataCollection"),
            [
                {
                    "$type": wire.contract(wire.CORE, "QuerySourceData"),
                    "Name": query.source,
                    "Description": label,
                }
            ],
        ),
        "LimitResultsCount": 0,
    }
