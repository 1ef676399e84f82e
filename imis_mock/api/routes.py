"""The REST API's routes: the standard route set, built once for every catalog entry.

`/api/{E}`, `/api/{E}/{id}`, `/api/{E}/_execute`, `_validate`, `_haspermission/{op}`,
`{id}/changelog` (Entity.routes() says which an entry has), plus `/api/metadata/{E}`,
`/api/BoEntityDefinition`, the IQA endpoints and the OpenAPI description. Each view parses the
request and calls engine/resource.py with the entry; nothing here is specific to an entity.
Letter case, repeated and trailing slashes and the application root are handled before routing
(imis_mock/routing.py), so the rules below are the canonical spellings.
"""

from flask import abort, g, request
from werkzeug.exceptions import MethodNotAllowed

from imis_mock.api import bp, caller, catalog, describe, iqa
from imis_mock.api.engine import access, bodies, filters, resource, wire
from imis_mock.api.engine.errors import NotFound, Unavailable


def query_args() -> dict[str, list[str]]:
    return filters.lower_args(request.args.items(multi=True))


def collection(entity: str):
    entry = catalog.find(entity)
    if request.method == "POST":
        return wire.json_response(resource.create(entry, caller(), request.get_data()), 201)
    page, ignored = resource.list_text(entry, caller(), query_args())
    if ignored:
        # Unknown filter keys are ignored [I, §2.4] and shown in the QA console's journal.
        g.api_notes["ignored"] = ignored
    return wire.text_response(page)


def item(entity: str, key: str):
    entry = catalog.find(entity)
    if request.method == "PUT":
        stored = resource.replace(entry, caller(), key, request.get_data())
        return wire.json_response(stored, entry.replace_status)
    if request.method == "DELETE":
        resource.delete(entry, caller(), key)
        return wire.json_response(None)
    return wire.text_response(resource.get_one_text(entry, caller(), key, query_args()))


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


# --- Panel sources ----------------------------------------------------------------------------
# Panel sources are defined at run time, so their routes cannot be built above: these rules take
# any other entity name, after every declared rule (werkzeug prefers the more literal rule).
# A declared entry that reaches them (a method its own rule lacks) gets its 405 here.

DYNAMIC = {
    "collection": {"GET": "list", "POST": "create"},
    "item": {"GET": "get", "PUT": "replace", "DELETE": "delete"},
    "validate": {"POST": "validate"},
}


def dynamic(kind: str):
    def view(entity: str, **kwargs):
        entry = catalog.find(entity)
        if entry is None:
            abort(404)
        allowed = [m for m, verb in DYNAMIC[kind].items() if entry.has(verb)]
        if not allowed:
            abort(404)
        if request.method not in allowed:
            raise MethodNotAllowed(valid_methods=allowed)
        return VIEWS[kind](entity=entry.name, **kwargs)

    view.__name__ = f"dynamic_{kind}"
    return view


bp.add_url_rule("/<entity>", view_func=dynamic("collection"), methods=["GET", "POST"])
bp.add_url_rule("/<entity>/_validate", view_func=dynamic("validate"), methods=["POST"])
bp.add_url_rule("/<entity>/<key>", view_func=dynamic("item"), methods=["GET", "PUT", "DELETE"])


# --- IQA ---------------------------------------------------------------------------------------


@bp.get("/iqa")
def run_iqa():
    """The IQA service (§8.1): GenericEntityData rows."""
    return wire.text_response(iqa.answer_iqa(query_args(), caller()))


@bp.get("/query")
def run_query():
    """The QueryService (§8.2): ExpandoObject rows."""
    return wire.text_response(iqa.answer_query(query_args(), caller()))
