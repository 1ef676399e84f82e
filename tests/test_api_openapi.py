"""The OpenAPI description at /api/openapi.json stays true to the app.

1. Every /api rule of the app is described, and every described path is a rule.
2. Schemathesis generates requests from the description, both fitting it and breaking it (with a
   staff token, so requests get past the bearer check), and no answer is a 5xx. Examples are
   few so the suite stays quick; no deadline, since the machine is shared.
"""

import itertools
import re

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.modes import GenerationMode

from imis_mock.api import catalog
from tests.support.api import mint


def flask_rule_to_openapi(rule: str) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule)


def test_description_matches_the_url_map(app, client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    described = {(path, method.upper()) for path, item in spec["paths"].items() for method in item}
    routed = {
        (flask_rule_to_openapi(rule.rule), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert described == routed


def test_description_needs_no_token(client):
    assert client.get("/api/openapi.json").status_code == 200


def test_no_server_errors(app):
    # Schemathesis's own pytest plugin does not run under pytest 9 yet, so its operations are
    # driven with plain Hypothesis here.
    token = mint(app, "MANAGER")
    headers = {"Authorization": f"Bearer {token}"}
    api_schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in api_schema.get_all_operations()]
    # Every described operation but the description itself: each entity's route set, plus
    # /api/query, /api/iqa, /api/metadata/{entity} and /api/BoEntityDefinition, and the six
    # operations of panel sources (/api/{entity}[/{key}|/_validate]).
    routed = sum(len(methods) for e in catalog.ENTITIES for _, _, methods in e.routes())
    assert len(operations) == routed + 4 + 6, operations
    assert routed >= 30

    for operation, mode in itertools.product(operations, GenerationMode):

        @given(case=operation.as_strategy(mode))
        @settings(
            max_examples=4,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def no_5xx(case):
            response = case.call(headers=headers)
            assert response.status_code < 500, (case.path, case.query, response.text)

        no_5xx()
