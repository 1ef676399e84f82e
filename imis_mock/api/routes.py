"""REST API views: parse the request, ask services.parties, shape the answer like iMIS."""

from flask import request

from imis_mock.api import bp, caller, json_response, shapes
from imis_mock.api.openapi import description
from imis_mock.services import parties
from imis_mock.services.parties import ApiError, NotFound

# Entities whose /api/metadata the mock describes: name -> (description, filterable fields).
METADATA = {
    "party": ("Party", "A person or organization.", parties.PARTY_FIELDS),
    "person": ("Person", "A person.", parties.PARTY_FIELDS),
    "partysummary": ("PartySummary", "A summary of a party.", parties.PARTY_FIELDS),
    "user": ("User", "A user account.", parties.USER_FIELDS),
}


def query_args() -> dict[str, list[str]]:
    return parties.lower_args(request.args.items(multi=True))


@bp.get("/openapi.json")
def openapi():
    return json_response(description())


# --- Users ------------------------------------------------------------------------------------


@bp.get("/User")
def list_users():
    page = parties.list_users(caller(), query_args())
    items = [shapes.user_data(u) for u in page.items]
    return json_response(shapes.paged_result(shapes.USER_DATA, items, page))


@bp.get("/User/<user_id>")
def get_user(user_id: str):
    return json_response(shapes.user_data(parties.get_user(caller(), user_id)))


@bp.post("/User/_execute")
def execute_user_operation():
    """GenericExecuteRequest; only FindByUserName is known (what SSO clients call)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError("The request body must be a GenericExecuteRequest in JSON.")
    operation = body.get("OperationName")
    if not isinstance(operation, str) or operation.lower() != "findbyusername":
        raise ApiError(f"The operation '{operation}' is not supported for User.")
    username = first_parameter(body.get("Parameters"))
    user = parties.find_by_username(caller(), username)
    return json_response(shapes.execute_result(shapes.user_data(user) if user else None))


def first_parameter(parameters) -> str:
    """The first value of a Parameters collection: {"$type": "System.String", "$value": x} or x."""
    values = parameters.get("$values") if isinstance(parameters, dict) else parameters
    if not isinstance(values, list) or not values:
        raise ApiError("FindByUserName needs one parameter: the username.")
    value = values[0]
    if isinstance(value, dict):
        value = value.get("$value")
    if not isinstance(value, str):
        raise ApiError("FindByUserName needs one parameter: the username.")
    return value


# --- Parties ----------------------------------------------------------------------------------


@bp.get("/Party")
@bp.get("/Person")
def list_parties():
    page = parties.list_parties(caller(), query_args())
    items = [shapes.person_data(c) for c in page.items]
    return json_response(shapes.paged_result(shapes.PERSON_DATA, items, page))


@bp.get("/Party/<party_id>")
@bp.get("/Person/<party_id>")
def get_party(party_id: str):
    return json_response(shapes.person_data(parties.get_party(caller(), party_id)))


@bp.get("/PartySummary")
def list_party_summaries():
    page = parties.list_parties(caller(), query_args())
    items = [shapes.party_summary(c) for c in page.items]
    return json_response(shapes.paged_result(shapes.PARTY_SUMMARY_DATA, items, page))


@bp.get("/PartySummary/<party_id>")
def get_party_summary(party_id: str):
    return json_response(shapes.party_summary(parties.get_party(caller(), party_id)))


# --- IQA and metadata -------------------------------------------------------------------------


@bp.get("/query")
@bp.get("/iqa")
def run_query():
    args = query_args()
    names = args.get("queryname")
    rows = parties.run_query(caller(), names[-1] if names else None)
    page = parties.page_of(rows, args)
    return json_response(shapes.paged_result(None, [shapes.expando(r) for r in page.items], page))


@bp.get("/metadata/<entity>")
def metadata(entity: str):
    known = METADATA.get(entity.lower())
    if known is None:
        raise NotFound(f"No metadata was found for the entity '{entity}'.")
    name, text, fields = known
    return json_response(shapes.entity_definition(name, text, fields.values()))
