"""`make bench`'s floor case: the SSO flows of bench/sso_flow.lua against bench/floor/app.py, the
mock's stack with none of the mock's work (no database, no password hash, no tokens stored), served
as `make run` serves the mock, beside hello-world as the flow case is.

Its ratio is what the stack and the server alone reach against the flows' target; the mock's
flows can only be slower (docs/performance.md). BENCH_CASES=floor picks only this.
"""

import sys

import run  # bench/run.py: the server, wrk and reporting helpers


def measure(hello: str, base_env: dict) -> list[dict]:
    """Serve bench/floor/app.py, run the flow case against it, stop it."""
    flow = next(case for case in run.CASES if case["key"] == "flow")
    port = run.free_port()
    env = {**base_env, "PYTHONPATH": str(run.BENCH)}
    process = run.start_mock(port, env, target="floor.app:app")
    floor = f"http://127.0.0.1:{port}"
    try:
        case = {
            **flow,
            "key": "floor",
            "name": "SSO flows, the stack alone",
            "path": "",
            "env": flow["env"](floor, {}),
            "target": None,
        }
        result = run.run_case(case, hello, floor)
        print(f"{case['name']}: done", file=sys.stderr)
        return [result]
    finally:
        process.terminate()
        process.wait(timeout=30)
