"""`make bench`'s list cases: GET /api/Party?lastname=startsWith:S&limit=100 on the demo data and
on a table of 100,000 parties, each beside the by-id GET on the same database.

The filtered list must cost the same whatever the table's size (issue 15): the filter is SQL
(api/engine/filters.py) on an index of lower(last_name), and the page is the first 100 matches.
Both mocks run as bench/run.py runs the mock (as `make run` serves it) on scratch SQLite
instances; a staff token reads every party. BENCH_CASES=lists picks only these.
"""

import json
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import run  # bench/run.py: the server, wrk and reporting helpers

PARTIES = 100_000
LIST_PATH = "/api/Party?lastname=startsWith:S&limit=100"
# Surnames drawn with these weights: about one party in nine has a name starting with S.
SURNAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris "
    "Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill "
    "Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Stewart Chen"
).split()

FILL = f"""
import random, uuid
from sqlalchemy import insert
from app import app
from imis_mock.extensions import db
from imis_mock.models import Contact
names = {SURNAMES!r}
with app.app_context():
    rows = []
    for i in range({PARTIES}):
        rows.append({{"imis_id": str(300000 + i), "uniform_id": str(uuid.uuid4()),
            "first_name": random.choice(["Ann", "Bo", "Cy", "Di", "Ed"]),
            "last_name": random.choice(names), "email": f"p{{i}}@example.org"}})
        if len(rows) == 5000:
            db.session.execute(insert(Contact), rows)
            rows = []
    if rows:
        db.session.execute(insert(Contact), rows)
    db.session.commit()
"""
TOKEN = """
from app import app
from imis_mock.extensions import db
from imis_mock.services import accounts, tokens
with app.app_context():
    print(tokens.issue_access_token(accounts.get_user("MANAGER"), None, grant_type="password")[0])
    db.session.commit()
"""


def _python(script: str, env: dict) -> str:
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=run.ROOT, env=env, check=True, capture_output=True
    )
    return out.stdout.decode().strip().splitlines()[-1] if out.stdout.strip() else ""


def prepare(instance: Path, base_env: dict, fill: str | None) -> str:
    """Migrate and load the demo into a scratch instance, run the `fill` script there (if any);
    mint a staff token."""
    env = {**base_env, "IMIS_INSTANCE_PATH": str(instance)}
    flask = [str(run.VENV_BIN / "flask"), "--app", "app"]
    for command in ("init-db", "load-demo"):
        subprocess.run([*flask, command], cwd=run.ROOT, env=env, check=True, capture_output=True)
    if fill:
        _python(fill, env)
    return _python(TOKEN, env)


@contextmanager
def scratch_mock(base_env: dict, prefix: str, fill: str | None, warm_path: str):
    """Serve the mock on a scratch instance (prepare()) as bench/run.py serves it, warmed by a
    second of `GET warm_path`; yield (its URL, the token). Stopped and removed afterwards."""
    instance = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        token = prepare(instance, base_env, fill)
        port = run.free_port()
        process = run.start_mock(port, {**base_env, "IMIS_INSTANCE_PATH": str(instance)})
        mock = f"http://127.0.0.1:{port}"
        try:
            run.warm(mock + warm_path, "-H", f"Authorization: Bearer {token}")
            yield mock, token
        finally:
            process.terminate()
            process.wait(timeout=30)
    finally:
        shutil.rmtree(instance, ignore_errors=True)


def _page_size(mock: str, token: str) -> int:
    """How many parties the filtered list returns (its Count) on this mock."""
    request = urllib.request.Request(mock + LIST_PATH, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["Count"]


def _cases(token: str, label: str, same_page: int | None = None) -> list[dict]:
    header = ["-H", f"Authorization: Bearer {token}"]
    load = (run.THREADS, run.CONNECTIONS)
    extra = []
    if same_page is not None:
        # The table's size alone: the demo data's page holds a few parties, this one 100, and
        # writing 100 records costs more than finding them.
        extra.append(
            {
                "key": "lists",
                "name": f"GET Party?lastname=S*&limit={same_page} {label}",
                "path": f"/api/Party?lastname=startsWith:S&limit={same_page}",
                "extra": header,
                "env": {},
                "target": None,
                "load": load,
            }
        )
    return [
        {
            "key": "lists",
            "name": f"GET /api/Party/{{id}} {label}",
            "path": f"/api/Party/{run.PARTY}",
            "extra": header,
            "env": {},
            "target": run.TARGETS["sqlite"],
            "load": load,
        },
        {
            "key": "lists",
            "name": f"GET Party?lastname=S* {label}",
            "path": LIST_PATH,
            "extra": header,
            "env": {},
            "target": None,
            "load": load,
        },
        *extra,
    ]


def measure(hello: str, base_env: dict) -> list[dict]:
    """Run the by-id and filtered-list GETs on the demo data, then on 100,000 parties."""
    results, demo_page = [], None
    for label, fill in (("(demo)", None), (f"({PARTIES:,})", FILL)):
        with scratch_mock(base_env, "imis-bench-lists-", fill, LIST_PATH) as (mock, token):
            if demo_page is None:
                demo_page = _page_size(mock, token)
                cases = _cases(token, label)
            else:
                cases = _cases(token, label, same_page=demo_page)
            for case in cases:
                results.append(run.run_case(case, hello, mock))
                print(f"{case['name']}: done", file=sys.stderr)
    demo, big, same = results[1]["ratio"], results[3]["ratio"], results[4]["ratio"]
    print(
        f"filtered list on {PARTIES:,} parties vs the demo data: {big / demo:.2f} of its ratio "
        f"(target >= 0.50); with the demo's page size ({demo_page}): {same / demo:.2f}",
        file=sys.stderr,
    )
    results[3]["case"]["target"] = 0.5 * demo
    return results
