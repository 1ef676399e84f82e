"""`make bench`'s floor cases: three of the mock's targets measured on apps that do none of the
mock's work, served as `make run` serves the mock, beside hello-world as the mock's cases are.

- The SSO flows of bench/sso_flow.lua against bench/floor/app.py: the mock's stack (Flask,
  Flask-Login, Flask-WTF, Jinja) with no database, no password hash and no token stored.
- The refresh grant's request against bench/floor/refresh.py: the writes of a redemption on the
  mock's own SQLite database, with no rule and no SQLAlchemy.
- The filtered list of the lists case against bench/floor/lists.py, on the demo data and on
  100,000 parties: the engine's queries written plainly, and the same bytes as the mock's, with
  none of the request's other work.

Their ratios are what the stack, the server and the database alone reach against the targets; the
mock's own figures can only be lower (docs/performance.md). BENCH_CASES=floor picks only these.
"""

import secrets
import shutil
import sys
import tempfile
from pathlib import Path

import api_cases  # the lists case: its path and its scratch instances
import run  # bench/run.py: the server, wrk and reporting helpers


def _serve(target: str, env: dict, case: dict, hello: str) -> dict:
    """Serve `target` from bench/ as the mock is served, warm it for a second, run `case`
    against it, stop it."""
    port = run.free_port()
    process = run.start_mock(port, {**env, "PYTHONPATH": str(run.BENCH)}, target=target)
    floor = f"http://127.0.0.1:{port}"
    try:
        run.warm(f"{floor}{case['path']}", *case["extra"], env=case["env"])
        result = run.run_case(case, hello, floor)
        print(f"{case['name']}: done", file=sys.stderr)
        return result
    finally:
        process.terminate()
        process.wait(timeout=30)


def _case(key: str, name: str, **changes) -> dict:
    """A copy of the mock's case `key` (bench/run.py's CASES), renamed, with no target."""
    case = next(case for case in run.CASES if case["key"] == key)
    return {
        **case,
        "key": "floor",
        "name": name,
        "path": "",
        "target": None,
        "load": case.get("load", (run.THREADS, run.CONNECTIONS)),
        **changes,
    }


def measure(hello: str, base_env: dict) -> list[dict]:
    """The flows on the stack alone, the refresh grant's writes alone (on a scratch instance
    with the demo data, as the mock's cases have), then the list's query and JSON alone."""
    flow = _case("flow", "SSO flows, the stack alone")
    flow["env"] = flow["env"]("", {})
    env = {**base_env, "FLOOR_SECRET_KEY": secrets.token_hex(32)}
    results = [_serve("floor.app:app", env, flow, hello)]
    instance = Path(tempfile.mkdtemp(prefix="imis-bench-floor-"))
    try:
        run.prepare_mock(instance, {})
        body = {
            "grant_type": "refresh_token",
            "client_id": run.CLIENT_ID,
            "client_secret": run.SECRET,
            "refresh_token": "floor-refresh-token",  # bench/floor/refresh.py's
        }
        refresh = _case("refresh", "POST /token refresh, its writes alone")
        refresh["env"] = run._form("/token", body)
        env = {**base_env, "IMIS_INSTANCE_PATH": str(instance)}
        results.append(_serve("floor.refresh:app", env, refresh, hello))
    finally:
        shutil.rmtree(instance, ignore_errors=True)
    return results + _lists(hello, base_env)


def _lists(hello: str, base_env: dict) -> list[dict]:
    """The filtered list's query and JSON alone, on the demo data, then on 100,000 parties."""
    results = []
    for label, fill in (("(demo)", None), (f"({api_cases.PARTIES:,})", api_cases.FILL)):
        instance = Path(tempfile.mkdtemp(prefix="imis-bench-floor-lists-"))
        try:
            api_cases.prepare(instance, base_env, fill)
            case = {
                "key": "floor",
                "name": f"GET Party?lastname=S* {label}, query and JSON alone",
                "path": api_cases.LIST_PATH,
                "extra": [],
                "env": {},
                "target": None,
                "load": (run.THREADS, run.CONNECTIONS),
            }
            env = {**base_env, "IMIS_INSTANCE_PATH": str(instance)}
            results.append(_serve("floor.lists:app", env, case, hello))
        finally:
            shutil.rmtree(instance, ignore_errors=True)
    demo, big = (r["ratio"] for r in results)
    print(
        f"the list's query and JSON alone on {api_cases.PARTIES:,} parties vs the demo data: "
        f"{big / demo:.2f} of its ratio (the lists case's target for the mock: >= 0.50)",
        file=sys.stderr,
    )
    return results
