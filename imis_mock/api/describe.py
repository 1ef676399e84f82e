"""Descriptions generated from the catalog, so they cannot drift from what is served:
GET /api/metadata/{E}, GET /api/BoEntityDefinition, /api/openapi.json and README.md's list.

Metadata follows what TAP reads (§5.4) [C: names and nesting; I: `$type` strings]: top-level
`Properties.$values[]` with `Name` and `PropertyTypeName`; a nested object is
`EntityDefinitionData` with `EntityDefinition.Properties`, a collection of objects adds an
`ItemEntityPropertyDefinition`, and AdditionalAttributes is a `GenericPropertyDataCollection`
with `GenericPropertyDefinitions`.
"""

import textwrap

from imis_mock.api import catalog
from imis_mock.api.engine import filters
from imis_mock.api.engine.entity import Entity
from imis_mock.api.engine.wire import CORE, collection, contract, paged_result

PROPERTY_TYPES = {
    "String": "PropertyTypeStringData",
    "Boolean": "PropertyTypeBooleanData",
    "Integer": "PropertyTypeIntegerData",
    "Decimal": "PropertyTypeDecimalData",
    "Monetary": "PropertyTypeMonetaryData",
    "Date": "PropertyTypeDateData",
}
DEFINITIONS = contract(CORE, "PropertyDefinitionDataCollection")
BO_ENTITY_DEFINITION = contract(CORE, "BOEntityDefinitionData")


def _leaf(prop) -> dict:
    data = {
        "$type": contract(CORE, PROPERTY_TYPES.get(prop.type, "PropertyTypeStringData")),
        "Name": prop.label,
        "PropertyTypeName": prop.type,
    }
    if prop.identity:
        data["IsIdentity"] = True
    return data


def _tree(props, depth: int) -> list[tuple[str, object]]:
    """Group properties by their path segment at `depth`: [(name, prop or [children])]."""
    groups: dict[str, list] = {}
    for prop in props:
        parts = prop.name.split(".")
        groups.setdefault(parts[depth], []).append(prop)
    tree = []
    for name, members in groups.items():
        leaves = [p for p in members if len(p.name.split(".")) == depth + 1]
        if leaves:
            tree.append((name, leaves[0]))
        else:
            tree.append((name, members))
    return tree


def _definitions(props, depth: int, collections: dict[str, str]) -> list[dict]:
    described = []
    for name, node in _tree(props, depth):
        if not isinstance(node, list):
            described.append(_leaf(node))
            continue
        kind = collections.get(name) if depth == 0 else None
        if kind == "attributes":
            described.append(
                {
                    "$type": contract(CORE, "PropertyTypeGenericPropertyDataCollectionData"),
                    "Name": name,
                    "PropertyTypeName": "GenericPropertyDataCollection",
                    "GenericPropertyDefinitions": collection(DEFINITIONS, [_leaf(p) for p in node]),
                }
            )
            continue
        inner = {"Properties": collection(DEFINITIONS, _definitions(node, depth + 1, {}))}
        data = {
            "$type": contract(CORE, "PropertyTypeEntityDefinitionData"),
            "Name": name,
            "PropertyTypeName": "EntityDefinitionData",
        }
        if kind == "collection":
            data["ItemEntityPropertyDefinition"] = {
                "Name": "item",
                "PropertyTypeName": "EntityDefinitionData",
                "EntityDefinition": inner,
            }
        else:
            data["EntityDefinition"] = inner
        described.append(data)
    return described


def entity_definition(entity: Entity) -> dict:
    """GET /api/metadata/{E}: the properties of the records the API returns."""
    return {
        "$type": contract(CORE, "EntityDefinitionData"),
        "EntityTypeName": entity.name,
        "Description": entity.description,
        "Properties": collection(
            DEFINITIONS, _definitions(entity.properties, 0, entity.collections)
        ),
    }


def bo_entity_definition(entity: Entity) -> dict:
    """One BOEntityDefinitionData: clients find identity fields by `IsIdentity` [C: TS-migrate]."""
    return {
        "$type": BO_ENTITY_DEFINITION,
        "EntityTypeName": entity.name,
        "ObjectTypeName": entity.object_type,
        "Description": entity.description,
        "Properties": collection(DEFINITIONS, [_leaf(p) for p in entity.properties]),
    }


def bo_entity_definitions(args: dict[str, list[str]]) -> dict:
    """GET /api/BoEntityDefinition: a PagedResult over the catalog, panel sources included
    (clients read a panel's identity properties here [C: TS-migrate]); EntityTypeName filters."""
    entities = catalog.all_entries()
    wanted = [v.lower() for v in args.get("entitytypename", [])]
    if wanted:
        entities = [e for e in entities if e.name.lower() in wanted]
    offset, limit = filters.paging(args)
    items = [bo_entity_definition(e) for e in entities[offset : offset + limit]]
    page = filters.Page(items, offset, limit, len(entities))
    return paged_result(BO_ENTITY_DEFINITION, items, page)


# --- OpenAPI ----------------------------------------------------------------------------------

MESSAGE = {"type": "object", "properties": {"Message": {"type": "string"}}, "required": ["Message"]}
COLLECTION = {
    "type": "object",
    "properties": {"$type": {"type": "string"}, "$values": {"type": "array"}},
    "required": ["$type", "$values"],
}
ENTITY = {"type": "object", "properties": {"$type": {"type": "string"}}, "required": ["$type"]}
PAGED_RESULT = {
    "type": "object",
    "properties": {
        "$type": {"type": "string"},
        "Items": COLLECTION,
        "Offset": {"type": "integer"},
        "Limit": {"type": "integer"},
        "Count": {"type": "integer"},
        "TotalCount": {"type": "integer"},
        "NextPageLink": {"type": "null"},
        "HasNext": {"type": "boolean"},
        "NextOffset": {"type": "integer"},
    },
    "required": list(
        ("$type", "Items", "Offset", "Limit", "Count", "TotalCount")
        + ("NextPageLink", "HasNext", "NextOffset")
    ),
}
INT32 = {"type": "integer", "minimum": 0, "maximum": filters.INT32_MAX}
PAGING = [
    {
        "name": "limit",
        "in": "query",
        "schema": INT32,
        "description": f"Page size: default {filters.DEFAULT_LIMIT} (also for 0), larger values "
        f"are clamped to {filters.MAX_LIMIT}.",
    },
    {"name": "offset", "in": "query", "schema": INT32, "description": "Items to skip."},
]
FILTER_TEXT = (
    "Filter as `operation:value` (eq, ne, gt, ge, lt, le, contains, notContain, startsWith, "
    "endsWith, between a|b, in a|b|c, isEmpty, notEmpty, isTrue, isFalse), or a bare value for "
    "eq. Keys and text are matched regardless of case; unknown keys are ignored."
)
EXECUTE_BODY = {
    "type": "object",
    "properties": {
        "$type": {"type": "string"},
        "OperationName": {"type": "string"},
        "EntityTypeName": {"type": "string"},
        "Parameters": COLLECTION,
    },
    "required": ["OperationName"],
}
SUMMARIES = {
    "list": "List {name} records (a PagedResult).",
    "create": "Create a {name} (201 with the stored record).",
    "get": "Read one {name}.",
    "replace": "Replace a {name} with the full record (its id in the body).",
    "delete": "Delete a {name} (200, empty body).",
    "execute": "Run a named operation on {name}: {operations}.",
    "validate": "Validate a {name} without saving it.",
    "haspermission": "May the caller perform an operation on {name}? (true or false)",
    "changelog": "The change history of one {name} (a PagedResult).",
}


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": MESSAGE}}}


def _ok(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


UNAUTHORIZED = {"401": _error("No valid bearer token (and no session with a token header).")}


def _path_parameters(path: str) -> list[dict]:
    names = [p.strip("<>").split(":")[-1] for p in path.split("/") if p.startswith("<")]
    return [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names
    ]


def filter_keys(entity: Entity) -> list[str]:
    """The filter keys a list documents: its aliases, then the top-level filterable paths."""
    keys = list(entity.aliases)
    keys += [p.name for p in entity.properties if p.column is not None and "." not in p.name]
    return list(dict.fromkeys(keys))


def _operation(entity: Entity, verb: str, path: str) -> dict:
    summary = SUMMARIES[verb].format(
        name=entity.name, operations=", ".join(sorted(entity.operations)) or "none"
    )
    operation: dict = {"summary": summary, "parameters": _path_parameters(path)}
    responses: dict = {}
    if verb == "list":
        operation["parameters"] += [
            {"name": k, "in": "query", "schema": {"type": "string"}, "description": FILTER_TEXT}
            for k in filter_keys(entity)
        ]
        operation["parameters"] += [
            {"name": "OrderBy", "in": "query", "schema": {"type": "string"}}
        ] + PAGING
        responses["200"] = _ok(PAGED_RESULT)
        responses["400"] = _error("Bad filter or paging value.")
    elif verb == "changelog":
        operation["parameters"] += PAGING
        responses["200"] = _ok(PAGED_RESULT)
    elif verb in ("create", "replace", "validate", "execute"):
        schema = EXECUTE_BODY if verb == "execute" else ENTITY
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        }
        responses["201" if verb == "create" else "200"] = _ok({"type": "object"})
        responses["400"] = _error("Malformed JSON, or ValidationResultsData.")
    elif verb == "haspermission":
        responses["200"] = _ok({"type": "boolean"})
    elif verb == "delete":
        responses["200"] = {"description": "Deleted; empty body."}
    else:
        responses["200"] = _ok(ENTITY)
    responses["403"] = _error("Not the caller's own record (members, GUEST).")
    if "<key>" in path or "<path:key>" in path:
        responses["404"] = _error("No such record (staff).")
    operation["responses"] = responses | UNAUTHORIZED
    return operation


def _openapi_path(path: str) -> str:
    parts = [
        "{" + p.strip("<>").split(":")[-1] + "}" if p.startswith("<") else p
        for p in path.split("/")
    ]
    return "/api" + "/".join(parts)


def _fixed_paths() -> dict:
    query = {
        "get": {
            "summary": "Run an IQA query defined in the Staff site (or `$/OAuth2/userInfo`).",
            "parameters": [
                {"name": "QueryName", "in": "query", "schema": {"type": "string"}},
                {"name": "querydocumentversionkey", "in": "query", "schema": {"type": "string"}},
                {
                    "name": "parameter",
                    "in": "query",
                    "schema": {"type": "array", "items": {"type": "string"}},
                    "style": "form",
                    "explode": True,
                },
            ]
            + PAGING,
            "responses": {
                "200": _ok(PAGED_RESULT),
                "400": _error("QueryName missing, a required parameter missing, or bad paging."),
                "403": _error("The caller may not run this query."),
                "404": _error("Unknown query."),
            }
            | UNAUTHORIZED,
        }
    }
    names = ", ".join(e.name for e in catalog.ENTITIES)
    panel = "A panel source defined in the Staff site's Panel designer"
    missing = {"404": _error("No such panel source or row.")}
    write = {"400": _error("Invalid body."), "403": _error("Not permitted.")}
    return {
        "/api/{entity}": {
            "get": {
                "summary": f"{panel}: its rows (filters on any property).",
                "parameters": _path_parameters("<entity>") + PAGING,
                "responses": {"200": _ok(PAGED_RESULT)} | missing | UNAUTHORIZED,
            },
            "post": {
                "summary": f"{panel}: add a row (GenericEntityData).",
                "parameters": _path_parameters("<entity>"),
                "requestBody": {"content": {"application/json": {"schema": ENTITY}}},
                "responses": {"201": _ok(ENTITY, "Created")} | write | missing | UNAUTHORIZED,
            },
        },
        "/api/{entity}/_validate": {
            "post": {
                "summary": f"{panel}: validate a row without saving it.",
                "parameters": _path_parameters("<entity>"),
                "requestBody": {"content": {"application/json": {"schema": ENTITY}}},
                "responses": {"200": _ok(ENTITY)} | write | missing | UNAUTHORIZED,
            }
        },
        "/api/{entity}/{key}": {
            method: {
                "summary": f"{panel}: one row, by party id or ~PartyId|SEQN.",
                "parameters": _path_parameters("<entity>/<key>"),
                **(
                    {"requestBody": {"content": {"application/json": {"schema": ENTITY}}}}
                    if method == "put"
                    else {}
                ),
                "responses": {"200": _ok(ENTITY)} | write | missing | UNAUTHORIZED,
            }
            for method in ("get", "put", "delete")
        },
        "/api/openapi.json": {
            "get": {
                "summary": "This description.",
                "security": [],
                "responses": {"200": _ok({"type": "object"})},
            }
        },
        "/api/query": query,
        "/api/iqa": query,
        "/api/metadata/{entity}": {
            "get": {
                "summary": f"Describe an entity ({names}).",
                "parameters": _path_parameters("<entity>"),
                "responses": {
                    "200": _ok(ENTITY),
                    "404": _error("Unknown entity."),
                    "501": _error("No metadata for this entity."),
                }
                | UNAUTHORIZED,
            }
        },
        "/api/BoEntityDefinition": {
            "get": {
                "summary": "Every entity the API serves, with its properties and identity.",
                "parameters": [
                    {"name": "EntityTypeName", "in": "query", "schema": {"type": "string"}}
                ]
                + PAGING,
                "responses": {"200": _ok(PAGED_RESULT)} | UNAUTHORIZED,
            }
        },
    }


def openapi() -> dict:
    """Return the OpenAPI 3 document for the API, generated from the catalog."""
    paths = _fixed_paths()
    for entity in catalog.ENTITIES:
        for _kind, path, methods in entity.routes():
            item = paths.setdefault(_openapi_path(path), {})
            for method, verb in methods.items():
                item[method.lower()] = _operation(entity, verb, path)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "imis-mock REST API",
            "version": "1.0",
            "description": "iMIS's business-object REST API: the standard route set for every "
            "entity of the catalog. Paths and query keys are matched regardless of letter case.",
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "verificationToken": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "RequestVerificationToken",
                    "description": "With the site's cookie session: the value of the page's "
                    "hidden __RequestVerificationToken input.",
                },
            }
        },
        "security": [{"bearer": []}, {"verificationToken": []}],
        "paths": paths,
    }


def entity_table() -> str:
    """The Markdown table of served entities: routes, id kind and filter keys of each."""
    lines = [
        "| Entity | Record `$type` | Id | Routes | Filter keys (besides JSON paths) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for entity in catalog.ENTITIES:
        routes = []
        for _kind, path, methods in entity.routes():
            shown = _openapi_path(path).removeprefix("/api")
            routes.append(f"`{' '.join(sorted(methods))} {shown}`")
        if entity.has("metadata"):
            routes.append(f"`GET /metadata/{entity.name}`" + ("" if entity.metadata else " (501)"))
        short = entity.item_type.split(",")[0].rsplit(".", 1)[-1]
        aliases = ", ".join(f"`{a}`" for a in entity.aliases) or "-"
        lines.append(
            f"| {entity.name} | {short} | {entity.identity} | {'<br>'.join(routes)} | {aliases} |"
        )
    return "\n".join(lines) + "\n"


API_DOC_HEADER = """# API entities

What `/api` serves, entity by entity. Generated from the catalog (`imis_mock/api/catalog/`) by
`flask --app app api-entities`: do not edit by hand. Paths and query keys are case-blind.

"""


def api_doc() -> str:
    """The text of docs/api.md (flask api-entities writes it)."""
    return API_DOC_HEADER + entity_table()


def readme_block() -> str:
    """The README's short list of served entities; the table is in docs/api.md."""
    names = ", ".join(f"`{entity.name}`" for entity in catalog.ENTITIES)
    listed = textwrap.fill(f"Entities served ({len(catalog.ENTITIES)}): {names}.", width=100)
    return listed + "\nRoutes, ids and filter keys of each: [docs/api.md](docs/api.md).\n"


README_START = "<!-- api-entities:start -->"
README_END = "<!-- api-entities:end -->"


def readme_with_entities(text: str) -> str:
    """README.md's text with the block between the api-entities markers regenerated."""
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        raise ValueError(f"README.md has no {README_START} ... {README_END} block.")
    block = f"{README_START}\n<!-- generated by `flask api-entities`: do not edit -->\n\n"
    return text[:start] + block + readme_block() + "\n" + text[end:]
