"""The REST API's routes: the standard route set, built once for every catalog entry.

`/api/{E}`, `/api/{E}/{id}`, `/api/{E}/_execute`, `_validate`, `_haspermission/{op}`,
`{id}/changelog` (Entity.routes() says which an entry has), plus `/api/metadata/{E}`,
`/api/BoEntityDefinition`, the IQA endpoints and the OpenAPI description. Each view parses the
request and calls engine/resource.py with the entry; nothing here is specific to an entity.
Letter case, repeated and trailing slashes and the application root are handled before routing
(imis_mock/routing.py), so the rules below are the canonical spellings.
"""

from flask import g, request

from imis_mock.api import bp, caller, catalog, describe
from imis_mock.api.engine import access, bodies, filters, resource, wire
from imis_mock.api.engine.errors import ApiError, NotFound, Unavailable
from imis_mock.services import parties


def query_args() -> dict[str, list[str]]:
    return filters.lower_args(request.args.items(multi=True))


def collection(entity: str):
    entry = catalog.find(entity)
    if request.method == "POST":
        return wire.json_response(resource.create(entry, caller(), request.get_data()), 201)
    page, ignored = resource.list_page(entry, caller(), query_args())
    if ignored:
        # Unknown filter keys are ignored [I, §2.4] and shown in the QA console's journal.
        g.api_notes["ignored"] = ignored
    return wire.json_response(page)


def item(entity: str, key: str):
    entry = catalog.find(entity)
    if request.method == "PUT":
        return wire.json_response(resource.replace(entry, caller(), key, request.get_data()))
    if request.method == "DELETE":
        resource.delete(entry, caller(), key)
        return wire.json_response(None)
    return wire.json_response(resource.get_one(entry, caller(), key))


def execute(entity: str):
    entry = catalog.find(entity)
    return wire.json_response(resource.execute(entry, caller(), request.get_data()))


def validate(entity: str):
    entry = catalog.find(entity)
    return wire.json_response(resource.validate(entry, caller(), request.get_data()))


def haspermission(entity: str, operation: str):
    """[I] The reply is not shown anywhere: a bare JSON true or false (§10.4)."""
    entry = catalog.find(entity)
    bodies.parse(request.get_data())  # null or the entity; only its being JSON is checked
    return wire.json_response(access.may(entry, caller(), operation))


def changelog(entity: str, key: str):
    entry = catalog.find(entity)
    return wire.json_response(resource.changelog(entry, caller(), key, query_args()))


VIEWS = {
    "collection": collection,
    "item": item,
    "execute": execute,
    "validate": validate,
    "haspermission": haspermission,
    "changelog": changelog,
}

for _entry in catalog.ENTITIES:
    for _kind, _path, _methods in _entry.routes():
        bp.add_url_rule(
            _path,
            endpoint=f"{_kind}_{_entry.name}",
            view_func=VIEWS[_kind],
            methods=sorted(_methods),
            defaults={"entity": _entry.name},
        )


@bp.get("/metadata/<entity>")
def metadata(entity: str):
    entry = catalog.find(entity)
    if entry is None or not entry.has("metadata"):
        raise NotFound(f"No metadata was found for the entity '{entity}'.")
    if not entry.metadata:
        # [I] iMIS answers 501 for BO-backed sources; TAP falls back to sampling (§5.4).
        raise Unavailable(f"Metadata is not available for the entity '{entry.name}'.")
    return wire.json_response(describe.entity_definition(entry))


@bp.get("/BoEntityDefinition")
def bo_entity_definition():
    return wire.json_response(describe.bo_entity_definitions(query_args()))


@bp.get("/openapi.json")
def openapi():
    return wire.json_response(describe.openapi())


# --- IQA ---------------------------------------------------------------------------------------


@bp.get("/query")
@bp.get("/iqa")
def run_query():
    """One IQA engine; the mock knows the queries in services.parties.QUERIES."""
    args = query_args()
    names = args.get("queryname") or args.get("querypath")
    name = names[-1] if names else None
    if not name or not name.strip():
        raise ApiError("The parameter 'QueryName' is required.")
    query = parties.QUERIES.get(name.strip().lower())
    if query is None:
        raise NotFound(f"The query '{name}' was not found.")
    rows = query(caller())
    offset, limit = filters.paging(args)
    page = filters.Page(rows[offset : offset + limit], offset, limit, len(rows))
    return wire.json_response(wire.paged_result(None, [wire.expando(r) for r in page.items], page))
