"""The OpenAPI 3 description served at /api/openapi.json.

tests/test_api_openapi.py keeps it true: every /api rule of the app is described here and every
path described here is a rule, and a property-based run over it finds no 5xx.
"""

from imis_mock.services import parties

MESSAGE = {
    "type": "object",
    "properties": {"Message": {"type": "string"}},
    "required": ["Message"],
}
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
    "required": [
        "$type",
        "Items",
        "Offset",
        "Limit",
        "Count",
        "TotalCount",
        "NextPageLink",
        "HasNext",
        "NextOffset",
    ],
}
INT32 = {"type": "integer", "minimum": 0, "maximum": parties.INT32_MAX}
PAGING = [
    {
        "name": "limit",
        "in": "query",
        "schema": INT32,
        "description": f"Page size: default {parties.DEFAULT_LIMIT} (also for 0), "
        f"at most {parties.MAX_LIMIT}.",
    },
    {"name": "offset", "in": "query", "schema": INT32, "description": "Items to skip."},
]
FILTER_TEXT = (
    "Filter as `operation:value` (eq, ne, gt, ge, lt, le, contains, notContain, startsWith, "
    "endsWith, between a|b, in a|b|c, isEmpty, notEmpty), or a bare value for eq. Case-insensitive."
)


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": MESSAGE}}}


def _ok(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


COMMON_ERRORS = {
    "401": _error("No valid bearer token (and no session with a RequestVerificationToken)."),
}


def _filters(fields: dict) -> list[dict]:
    names = [f.name for f in fields.values()] + ["OrderBy"]
    return [
        {"name": n, "in": "query", "schema": {"type": "string"}, "description": FILTER_TEXT}
        for n in names
    ]


def _list(summary: str, fields: dict) -> dict:
    return {
        "get": {
            "summary": summary,
            "parameters": _filters(fields) + PAGING,
            "responses": {"200": _ok(PAGED_RESULT), "400": _error("Bad filter or paging value.")}
            | COMMON_ERRORS,
        }
    }


def _one(summary: str, name: str) -> dict:
    return {
        "get": {
            "summary": summary,
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {
                "200": _ok(ENTITY),
                "403": _error("Not the caller's own record (members, GUEST)."),
                "404": _error("No such record (staff)."),
            }
            | COMMON_ERRORS,
        }
    }


EXECUTE_BODY = {
    "type": "object",
    "properties": {
        "$type": {"type": "string"},
        "OperationName": {"type": "string", "enum": ["FindByUserName"]},
        "EntityTypeName": {"type": "string"},
        "Parameters": COLLECTION,
    },
    "required": ["OperationName", "Parameters"],
}
QUERY = {
    "get": {
        "summary": "Run an IQA query; `$/OAuth2/userInfo` is the one the mock knows.",
        "parameters": [
            {"name": "QueryName", "in": "query", "required": True, "schema": {"type": "string"}}
        ]
        + PAGING,
        "responses": {
            "200": _ok(PAGED_RESULT),
            "400": _error("QueryName missing or bad paging."),
            "404": _error("Unknown query."),
        }
        | COMMON_ERRORS,
    }
}


def description() -> dict:
    """Return the OpenAPI 3 document for the API."""
    party = parties.PARTY_FIELDS
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "imis-mock REST API",
            "version": "1.0",
            "description": "The part of iMIS's REST API that SSO clients call. Query parameter "
            "names are matched regardless of letter case.",
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
        "paths": {
            "/api/openapi.json": {
                "get": {
                    "summary": "This description.",
                    "security": [],
                    "responses": {"200": _ok({"type": "object"})},
                }
            },
            "/api/User": _list("Users (members and GUEST: only themselves).", parties.USER_FIELDS),
            "/api/User/{user_id}": _one("A user by UserId (its party ID, or GUEST).", "user_id"),
            "/api/User/_execute": {
                "post": {
                    "summary": "GenericExecuteRequest: FindByUserName.",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": EXECUTE_BODY}},
                    },
                    "responses": {
                        "200": _ok({"type": "object", "properties": {"Result": {}}}),
                        "400": _error("Unknown operation or bad body."),
                        "403": _error("Another user's name (members, GUEST)."),
                    }
                    | COMMON_ERRORS,
                }
            },
            "/api/Party": _list("Parties (PersonData).", party),
            "/api/Party/{party_id}": _one("A party (PersonData).", "party_id"),
            "/api/Person": _list("Persons (PersonData).", party),
            "/api/Person/{party_id}": _one("A person (PersonData).", "party_id"),
            "/api/PartySummary": _list("Party summaries.", party),
            "/api/PartySummary/{party_id}": _one("A party summary.", "party_id"),
            "/api/query": QUERY,
            "/api/iqa": QUERY,
            "/api/metadata/{entity}": {
                "get": {
                    "summary": "Describe an entity: User, Party, Person or PartySummary.",
                    "parameters": [
                        {
                            "name": "entity",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {"200": _ok(ENTITY), "404": _error("Unknown entity.")}
                    | COMMON_ERRORS,
                }
            },
        },
    }
