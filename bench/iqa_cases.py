"""`make bench`'s IQA cases: GET /api/query and GET /api/IQA for a 3-column query over 10,000
contacts, one page of 100 rows (issue 16; target ratio >= 0.20).

The query is defined as staff define it (services/iqa.py, checked against the Party source),
and runs through the same engine as every other list: the count and the page are SQL. The mock
runs as bench/run.py runs it (as `make run` serves it) on a scratch SQLite instance; a
staff token reads every contact. BENCH_CASES=iqa picks only these.
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import api_cases  # the scratch-instance helpers of the list cases
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
    instance = Path(tempfile.mkdtemp(prefix="imis-bench-iqa-"))
    try:
        env = {**base_env, "IMIS_INSTANCE_PATH": str(instance)}
        flask = [str(run.VENV_BIN / "flask"), "--app", "app"]
        for command in ("init-db", "load-demo"):
            subprocess.run(
                [*flask, command], cwd=run.ROOT, env=env, check=True, capture_output=True
            )
        api_cases._python(FILL, env)
        token = api_cases._python(api_cases.TOKEN, env)
        port = run.free_port()
        process = run.start_mock(port, env)
        mock = f"http://127.0.0.1:{port}"
        try:
            warm = ["wrk", "-t1", "-c2", "-d1s", "-H", f"Authorization: Bearer {token}"]
            subprocess.run([*warm, f"{mock}/api/query?{PAGE}"], check=True, capture_output=True)
            for case in _cases(token):
                results.append(run.run_case(case, hello, mock))
                print(f"{case['name']}: done", file=sys.stderr)
        finally:
            process.terminate()
            process.wait(timeout=30)
    finally:
        shutil.rmtree(instance, ignore_errors=True)
    return results
