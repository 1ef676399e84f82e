"""`make bench`'s floor cases: two of the mock's targets measured on apps that do none of the
mock's work, served as `make run` serves the mock, beside hello-world as the mock's cases are.

- The SSO flows of bench/sso_flow.lua against bench/floor/app.py: the mock's stack (Flask,
  Flask-Login, Flask-WTF, Jinja) with no database, no password hash and no token stored.
- The refresh grant's request against bench/floor/refresh.py: the writes of a redemption on the
  mock's own SQLite database, with no rule and no SQLAlchemy.

Their ratios are what the stack, the server and the database alone reach against the targets; the
mock's own figures can only be lower (docs/performance.md). BENCH_CASES=floor picks only these.
"""

import shutil
import sys
import tempfile
from pathlib import Path

import run  # bench/run.py: the server, wrk and reporting helpers


def _serve(target: str, env: dict, case: dict, hello: str) -> dict:
    """Serve `target` from bench/ as the mock is served, run `case` against it, stop it."""
    port = run.free_port()
    process = run.start_mock(port, {**env, "PYTHONPATH": str(run.BENCH)}, target=target)
    try:
        result = run.run_case(case, hello, f"http://127.0.0.1:{port}")
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
    """The flows on the stack alone, then the refresh grant's writes alone (on a scratch
    instance with the demo data, as the mock's cases have)."""
    flow = _case("flow", "SSO flows, the stack alone")
    flow["env"] = flow["env"]("", {})
    results = [_serve("floor.app:app", base_env, flow, hello)]
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
    return results
