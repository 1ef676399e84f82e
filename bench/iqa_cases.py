"""`make bench`'s IQA cases: GET /api/query and GET /api/IQA for a 3-column query over 10,000
contacts, one page of 100 rows (issue 16; target ratio >= 0.20).

The query is defined as staff define it (services/iqa.py, checked against the Party source),
and runs through the same engine as every other list: the count and the page are SQL. The mock
runs as bench/run.py runs it (as `make run` serves it) on a scratch SQLite instance; a
staff token reads every contact. BENCH_CASES=iqa picks only these.
"""

import sys

import api_cases  # the scratch instance and its mock, as the list cases make them
import run  # bench/run.py: the server, wrk and reporting helpers

CONTACTS = 10_000
QUERY = "$/Bench/Contacts"
PAGE = f"QueryName={QUERY}&limit=100"
FILL = f"""
import uuid
from sqlalchemy import insert
from app import app
from imis_mock.api import iqa as engine
from imis_mock.extensions import db
from imis_mock.models import Contact
from imis_mock.services import iqa
with app.app_context():
    rows = [{{"imis_id": str(300000 + i), "uniform_id": str(uuid.uuid4()), "first_name": "Ann",
             "last_name": f"Name{{i:05d}}", "email": f"p{{i}}@example.org"}}
            for i in range({CONTACTS})]
    db.session.execute(insert(Contact), rows)
    iqa.save_query(
        None, name="Contacts", folder="$/Bench", source="Party",
        columns=[{{"property": "PartyId", "alias": "ID"}},
                 {{"property": "PersonName.LastName", "alias": "LastName"}},
                 {{"property": "Emails.Address", "alias": "Email"}}],
        filters=[], sorting=[], properties=engine.source_properties("Party"),
        operations=set(engine.operations()), actor="MANAGER")
    db.session.commit()
"""


def _cases(token: str) -> list[dict]:
    header = ["-H", f"Authorization: Bearer {token}"]
    load = (run.THREADS, run.CONNECTIONS)
    return [
        {
            "key": "iqa",
            "name": f"GET /api/{endpoint} 3 columns, 100 of {CONTACTS:,}",
            "path": f"/api/{endpoint}?{PAGE}",
            "extra": header,
            "env": {},
            "target": 0.20,
            "load": load,
        }
        for endpoint in ("query", "IQA")
    ]


def measure(hello: str, base_env: dict) -> list[dict]:
    """Run both IQA endpoints on a database of 10,000 contacts."""
    results = []
    warm = f"/api/query?{PAGE}"
    with api_cases.scratch_mock(base_env, "imis-bench-iqa-", FILL, warm) as (mock, token):
        for case in _cases(token):
            results.append(run.run_case(case, hello, mock))
            print(f"{case['name']}: done", file=sys.stderr)
    return results
