"""`make bench`: requests per second of the mock's hot paths, each beside a hello-world Flask app.

Both apps run under gunicorn with the project's gunicorn.conf.py and the same settings (2 workers,
gthread with 4 threads, the access log written to /dev/null as `make run` writes it to the
terminal; BENCH_ACCESS_LOG="" turns it off for both), in the same run. For every case wrk loads
hello-world, then the mock, with the same threads, connections and duration, BENCH_ROUNDS times
(default 3, BENCH_DURATION each, default 4s): each round compares the two under the load the
shared machine had at that moment, and the round with the median ratio is reported (every
round's ratio is printed below the table). Each measurement waits for the last one's leftovers
first (settle(): the disk writes and queued requests the mock left behind), which otherwise
slowed hello-world's next round. The mock gets a scratch instance folder (SQLite, the demo data,
a client application "BenchApp").

Cases (BENCH_CASES picks some, e.g. BENCH_CASES=refresh,api):
- refresh  POST /token, refresh_token grant, credentials in the body (target ratio >= 0.40).
           Default rotation: every request redeems the same refresh token and succeeds.
- api      GET /api/Party/{id} with a valid bearer token (target ratio >= 0.40).
- password POST /token, password grant (scrypt, deliberately slow: no target).
- signin   POST /SignIn with the CSRF token, as a browser sends it: the session cookie and the
           token come from one GET /SignIn before the run and are sent again on every POST
           (Flask-WTF's token stays valid for that session), so each POST is checked for CSRF,
           hashes the password and starts a new signed-in session (scrypt: no target).
- flow     Whole SSO flows (bench/sso_flow.lua): GET and POST /SignIn, the record page with the
           hand-off, /token, one API call; one flow at a time per connection. The hello-world
           figure is its requests/s divided by the 5 requests of a flow.
- lists    GET /api/Party filtered, on the demo data and 100,000 parties (bench/api_cases.py).
- iqa      GET /api/query and GET /api/IQA, a 3-column query, one page of 100 rows of 10,000
           contacts (bench/iqa_cases.py; target ratio >= 0.20).
Only correct passwords are sent, so sign-in throttling (failures per username) never applies.

PostgreSQL: with BENCH_DATABASE_URL set (a postgresql+psycopg:// URL whose role may create
databases, e.g. the tests' TEST_DATABASE_URL), the cases in BENCH_PG_CASES (default refresh,api)
run again with the mock on a scratch PostgreSQL database, dropped afterwards.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import requests

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
VENV_BIN = Path(sys.executable).parent
DURATION = os.environ.get("BENCH_DURATION", "4s")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONNECTIONS = os.environ.get("BENCH_CONNECTIONS", "16")
THREADS = os.environ.get("BENCH_THREADS", "2")
FLOW_CONNECTIONS = os.environ.get("BENCH_FLOW_CONNECTIONS", "8")
WORKERS = os.environ.get("BENCH_WORKERS", "2")
ACCESS_LOG = os.environ.get("BENCH_ACCESS_LOG", "/dev/null")
CASES = os.environ.get("BENCH_CASES", "refresh,api,password,signin,flow,lists,iqa").split(",")
PG_URL = os.environ.get("BENCH_DATABASE_URL", "")
PG_CASES = os.environ.get("BENCH_PG_CASES", "refresh,api").split(",")
CLIENT_ID, SECRET = "BenchApp", "Bench-secret-0123456789"
MEMBER, PASSWORD, PARTY = "jsmith", "Member-Demo-2026", "23179"
TARGET = 0.40


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_mock(instance: Path, database_env: dict[str, str]) -> dict[str, str]:
    """Migrate a scratch database with the demo data and a client; mint two tokens for it."""
    env = {**os.environ, "IMIS_INSTANCE_PATH": str(instance), **database_env}
    flask = [str(VENV_BIN / "flask"), "--app", "app"]
    subprocess.run([*flask, "init-db"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run([*flask, "load-demo"], cwd=ROOT, env=env, check=True, capture_output=True)
    script = f"""
from app import app
from imis_mock.extensions import db
from imis_mock.models import ClientApplication
from imis_mock.services import accounts, secrets, sso, tokens
with app.app_context():
    client = ClientApplication(client_id={CLIENT_ID!r}, client_id_key={CLIENT_ID.lower()!r},
        secret_hash=secrets.client_secret_hash({SECRET!r}), refresh_token_lifetime=60,
        redirect_url="https://bench.example/sso")
    db.session.add(client)
    db.session.commit()
    user = accounts.get_user({MEMBER!r})
    print(sso.start_handoff(user, client))
    print(tokens.issue_access_token(user, client, grant_type="password")[0])
    db.session.commit()
"""
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, check=True, capture_output=True
    )
    refresh, access = out.stdout.decode().strip().splitlines()[-2:]
    return {"refresh": refresh, "access": access}


def start(target: str, port: int, env: dict, cwd: Path) -> subprocess.Popen:
    command = [
        str(VENV_BIN / "gunicorn"),
        "-c",
        str(ROOT / "gunicorn.conf.py"),
        "--error-logfile",
        "-",
        target,
    ]
    env = {**env, "PORT": str(port), "WEB_CONCURRENCY": WORKERS, "GUNICORN_ACCESS_LOG": ACCESS_LOG}
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.terminate()
    raise SystemExit(f"{target} did not start on port {port}")


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)


def settle(quiet: float = 0.2, limit: float = 5.0) -> None:
    """Let the last measurement's leftovers finish before the next one starts.

    The mock's database writes reach the disk later, in the kernel's writeback, and requests
    already read when wrk stopped (a queue of scrypt sign-ins) still run: either slowed whichever
    app was measured next (hello-world fell from about 5,500 to 2,000 requests/s in such rounds).
    So: sync(), then wait (at most `limit` seconds) for a `quiet`-second window in which the
    machine is at least 80% idle.
    """
    os.sync()
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        busy, total = _cpu_times()
        time.sleep(quiet)
        busy_after, total_after = _cpu_times()
        if total_after > total and (busy_after - busy) / (total_after - total) < 0.2:
            return


def wrk(url: str, *extra: str, env: dict | None = None, load: tuple[str, str]) -> dict:
    settle()
    threads, connections = load
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{DURATION}", "--latency", *extra]
    out = subprocess.run(
        [*command, url], env={**os.environ, **(env or {})}, check=True, capture_output=True
    )
    text = out.stdout.decode()
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    flows = re.search(r"^flows: (\d+)$", text, re.M)
    failed = re.search(r"^failed flows: (\d+)$", text, re.M)
    seconds = float(re.search(r"requests in ([\d.]+)s", text).group(1))
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
        "p50": re.search(r"\s50%\s+(\S+)", text).group(1),
        "p99": re.search(r"\s99%\s+(\S+)", text).group(1),
        "errors": int(errors.group(1)) if errors else 0,
        "flows": int(flows.group(1)) / seconds if flows else None,
        "failed": int(failed.group(1)) if failed else 0,
    }


def signin_form(base: str) -> tuple[str, str]:
    """GET /SignIn once, as a browser would: return its session cookie and the form's body."""
    page = requests.get(f"{base}/SignIn", timeout=30)
    page.raise_for_status()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    cookie = "; ".join(f"{k}={v}" for k, v in page.cookies.items())
    return cookie, urlencode({"username": MEMBER, "password": PASSWORD, "csrf_token": token})


def cases(mock: str, minted: dict[str, str], keys: list[str], label: str = "") -> list[dict]:
    """What each chosen case sends: wrk's path, extra arguments, environment; its ratio target."""
    form = ["-s", str(BENCH / "post_form.lua")]
    refresh = {
        "grant_type": "refresh_token",
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "refresh_token": minted["refresh"],
    }
    password = {"grant_type": "password", "username": MEMBER, "password": PASSWORD}
    known = {
        "refresh": {
            "name": "POST /token refresh_token",
            "extra": form,
            "env": lambda: {"BENCH_PATH": "/token", "BENCH_BODY": urlencode(refresh)},
            "target": TARGET,
        },
        "api": {
            "name": "GET /api/Party/{id} (bearer)",
            "path": f"/api/Party/{PARTY}",
            "extra": ["-H", f"Authorization: Bearer {minted['access']}"],
            "target": TARGET,
        },
        "password": {
            "name": "POST /token password",
            "extra": form,
            "env": lambda: {"BENCH_PATH": "/token", "BENCH_BODY": urlencode(password)},
        },
        "signin": {
            "name": "POST /SignIn (with CSRF)",
            "extra": form,
            "env": lambda: (
                dict(zip(("BENCH_COOKIE", "BENCH_BODY"), signin_form(mock), strict=True))
                | {"BENCH_PATH": "/SignIn"}
            ),
        },
        "flow": {
            "name": "SSO flows (5 requests each)",
            "extra": ["-s", str(BENCH / "sso_flow.lua")],
            "env": lambda: {
                "BENCH_USER": MEMBER,
                "BENCH_PASSWORD": PASSWORD,
                "BENCH_CLIENT_ID": "SampleApp",
                "BENCH_CLIENT_SECRET": "sample-app-demo-secret",
                "BENCH_RECORD": "/SampleApp.aspx",
                "BENCH_PARTY": PARTY,
            },
            # One connection per wrk thread: the script keeps one flow's state per thread.
            "load": (FLOW_CONNECTIONS, FLOW_CONNECTIONS),
        },
    }
    chosen = []
    for key in (key.strip() for key in keys):
        case = known[key]
        chosen.append(
            {
                "key": key,
                "name": case["name"] + label,
                "path": case.get("path", ""),
                "extra": case["extra"],
                "env": case["env"]() if "env" in case else {},
                "target": case.get("target"),
                "load": case.get("load", (THREADS, CONNECTIONS)),
            }
        )
    return chosen


def run_case(case: dict, hello: str, mock: str) -> dict:
    """Alternate hello-world and the mock for ROUNDS rounds; keep the round with the median ratio.

    The machine is shared, so its speed drifts during a run: a ratio from one round of each can
    be off by a factor of two. Each round measures both under the same conditions, and the
    median round is robust to a round spoiled by a neighbour.
    """
    rounds = []
    for _ in range(ROUNDS):
        base = wrk(f"{hello}/", load=case["load"])
        result = wrk(f"{mock}{case['path']}", *case["extra"], env=case["env"], load=case["load"])
        if case["key"] == "flow":
            base["flows"] = base["rps"] / 5
            ratio = result["flows"] / base["flows"]
        else:
            ratio = result["rps"] / base["rps"]
        rounds.append({"case": case, "hello": base, "mock": result, "ratio": ratio})
    rounds.sort(key=lambda r: r["ratio"])
    median = rounds[len(rounds) // 2]
    median["mock"]["errors"] = sum(r["mock"]["errors"] for r in rounds)
    median["mock"]["failed"] = sum(r["mock"]["failed"] for r in rounds)
    median["ratios"] = [r["ratio"] for r in rounds]
    return median


def report(results: list[dict]) -> None:
    print(
        f"\nwrk -t{THREADS} -c{CONNECTIONS} -d{DURATION} (flows: -t{FLOW_CONNECTIONS} "
        f"-c{FLOW_CONNECTIONS}); gunicorn {WORKERS} workers, the same config for both apps; "
        f"{ROUNDS} rounds of hello-world then the mock, the median round shown"
    )
    head = f"{'case':30} {'mock':>9} {'p50':>9} {'p99':>9} {'errors':>6} {'hello':>9} {'ratio':>6}"
    print(head + "  target")
    for r in results:
        mock, hello, case = r["mock"], r["hello"], r["case"]
        rate = mock["flows"] if mock["flows"] is not None else mock["rps"]
        base = hello["flows"] if hello["flows"] is not None else hello["rps"]
        errors = mock["errors"] + mock["failed"]
        target = f">= {case['target']:.2f}" if case["target"] else "-"
        print(
            f"{case['name']:30} {rate:>9.1f} {mock['p50']:>9} {mock['p99']:>9} {errors:>6} "
            f"{base:>9.1f} {r['ratio']:>6.2f}  {target}"
        )
    print("mock and hello are requests/s (flows/s for the SSO flows); p50 and p99 are the mock's")
    for r in results:
        ratios = ", ".join(f"{ratio:.2f}" for ratio in r["ratios"])
        print(f"{r['case']['name']:30} ratio of each round: {ratios}")


def measure(hello: str, instance: Path, base_env: dict, database_env: dict, keys, label: str):
    """Start the mock on one database, run the chosen cases beside hello-world, stop it."""
    minted = prepare_mock(instance, database_env)
    port = free_port()
    mock_env = {**base_env, "IMIS_INSTANCE_PATH": str(instance), **database_env}
    process = start("app:app", port, mock_env, ROOT)
    mock = f"http://127.0.0.1:{port}"
    try:
        # Warm up (imports, first connections), then measure case by case.
        subprocess.run(["wrk", "-t1", "-c2", "-d1s", f"{mock}/"], check=True, capture_output=True)
        results = []
        for case in cases(mock, minted, keys, label):
            results.append(run_case(case, hello, mock))
            print(f"{case['name']}: done", file=sys.stderr)
        return results
    finally:
        process.terminate()
        process.wait(timeout=30)


def scratch_postgresql() -> tuple[str, object]:
    """Create a scratch PostgreSQL database; return its URL and a function that drops it."""
    from sqlalchemy import create_engine, make_url

    server = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"imis_bench_{os.getpid()}"
    with server.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with server.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.dispose()

    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    return url, drop


def main() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: `make bench` installs it with apt-get")
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    hello_port = free_port()
    hello = f"http://127.0.0.1:{hello_port}"
    hello_process = start("hello:app", hello_port, base_env, BENCH)
    subprocess.run(["wrk", "-t1", "-c2", "-d1s", f"{hello}/"], check=True, capture_output=True)
    sqlite_instance = Path(tempfile.mkdtemp(prefix="imis-bench-"))
    pg_instance = Path(tempfile.mkdtemp(prefix="imis-bench-pg-"))
    try:
        results = measure(
            hello,
            sqlite_instance,
            base_env,
            {},
            [c for c in CASES if c not in ("lists", "iqa")],
            "",
        )
        if "lists" in CASES:
            import api_cases  # GET /api/Party filtered, on the demo data and 100,000 parties

            results += api_cases.measure(hello, base_env)
        if "iqa" in CASES:
            import iqa_cases  # GET /api/query and /api/IQA, 100 rows of 10,000 contacts

            results += iqa_cases.measure(hello, base_env)
        if PG_URL:
            url, drop = scratch_postgresql()
            try:
                database_env = {"FLASK_SQLALCHEMY_DATABASE_URI": url}
                results += measure(hello, pg_instance, base_env, database_env, PG_CASES, " [PG]")
            finally:
                drop()
    finally:
        hello_process.terminate()
        hello_process.wait(timeout=30)
        shutil.rmtree(sqlite_instance, ignore_errors=True)
        shutil.rmtree(pg_instance, ignore_errors=True)
    report(results)
    if any(r["mock"]["errors"] or r["mock"]["failed"] for r in results):
        raise SystemExit("the mock answered some requests with an error")


if __name__ == "__main__":
    main()
