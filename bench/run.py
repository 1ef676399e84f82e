"""`make bench`: requests per second of the mock's hot paths beside hello-world Flask.

The mock is served exactly as `make run` serves it (serve.py: granian, 2 workers, its threads and
its access log, written to /dev/null here). The yardstick is hello-world Flask (bench/hello.py) on
the fastest server measured here: granian, 2 workers, `--interface wsgi`, its defaults otherwise
(docs/serving.md). For every case wrk loads hello-world, then the mock, with the same threads,
connections and duration, BENCH_ROUNDS times (default 3, BENCH_DURATION each, default 4s): each
round compares the two under the load the shared machine had at that moment, and the round with
the median ratio is reported beside the mock's p50 and p99 (every round's ratio is printed below
the table). Each measurement waits for the last one's leftovers first (settle()).

Cases (BENCH_CASES picks some, e.g. BENCH_CASES=refresh,api): CASES below, a list; each entry
names what wrk sends and its target ratio. The mock runs on a scratch instance (the demo data and
a client application "BenchApp") in up to three set-ups, each its own server:
- SQLite, the default password hash (scrypt): every case.
- SQLite with the cheap password hash of load tests (PASSWORD_HASH_METHOD=pbkdf2:sha256:1, see
  imis_mock/config.py): the cases that hash a password (password, signin, flow).
- PostgreSQL, with BENCH_DATABASE_URL set (a postgresql+psycopg:// URL whose role may create
  databases, e.g. the tests' TEST_DATABASE_URL): the cases in BENCH_PG_CASES (default
  refresh,api), on a scratch database dropped afterwards.
Three more cases have their own set-up: lists (bench/api_cases.py: GET /api/Party filtered, on the
demo data and 100,000 parties), iqa (bench/iqa_cases.py: GET /api/query and /api/IQA, a 3-column
query, one page of 100 rows of 10,000 contacts; target ratio >= 0.20) and floor
(bench/floor_cases.py: the SSO flows against bench/floor/app.py, the mock's stack with none of its
work; the refresh grant against bench/floor/refresh.py, a redemption's writes alone; the filtered
list against bench/floor/lists.py, its queries and bytes alone; so that the mock's ratios can be
read against what the stack and the database alone reach; no target).
Only correct passwords are sent, for 16 members in turn (MEMBERS), so sign-in throttling never
refuses one, except in bench/guessing.py (BENCH_CASES=guessing), which measures the refresh grant
beside 20 threads guessing passwords. The mock's figure is its successful answers per second. A
429 from a full hashing pool (by design: most answers with scrypt) is counted in its own column
in the cases that hash a password; any other answer that is not 2xx or 3xx is an error, and the
run then exits 1.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
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
WORKERS = "2"  # as `make run` and the yardstick
PG_URL = os.environ.get("BENCH_DATABASE_URL", "")
PG_CASES = os.environ.get("BENCH_PG_CASES", "refresh,api").split(",")
CHEAP_HASH = {"FLASK_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1"}
HASHING_CASES = ["password", "signin", "flow"]
CLIENT_ID, SECRET = "BenchApp", "Bench-secret-0123456789-abcdefghijklmnop"
MEMBER, PASSWORD, PARTY = "jsmith", "Member-Demo-2026", "23179"
# Members (and their party ids) added for the hashing cases, which sign them in in turn, as many
# members would: more than THROTTLE_MAX_FAILURES sign-ins of one member at once are answered 429
# (services/throttle.py counts each attempt in flight until it is settled).
MEMBERS = {f"bench{i:02}": str(90000 + i) for i in range(16)}
# Targets (issue 21): ratios to hello-world; PostgreSQL's own; flows against hello-world / 5.
TARGETS = {"sqlite": 0.30, "pg": 0.15, "flow": 0.20}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_mock(instance: Path, database_env: dict[str, str]) -> dict[str, str]:
    """Migrate a scratch database with the demo data, a client and MEMBERS; mint two tokens."""
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
    for username, imis_id in {MEMBERS!r}.items():
        accounts.create_user(username, {PASSWORD!r}, staff=False, first_name="Bench",
            last_name=username, imis_id=imis_id)
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


def start_mock(port: int, env: dict, target: str = "app:app") -> subprocess.Popen:
    """The mock (or another app, `target`) as `make run` serves it (its access log to
    /dev/null)."""
    env = {**env, "PORT": str(port), "WEB_CONCURRENCY": WORKERS}
    command = [sys.executable, str(ROOT / "serve.py"), target]
    return _wait_until_up(subprocess.Popen(command, cwd=ROOT, env=env, **_QUIET), port)


def start_hello(port: int, env: dict) -> subprocess.Popen:
    """The yardstick: hello-world Flask on granian, 2 workers, WSGI, granian's defaults."""
    command = [str(VENV_BIN / "granian"), "--interface", "wsgi", "--workers", WORKERS]
    command += ["--host", "127.0.0.1", "--port", str(port), "hello:app"]
    return _wait_until_up(subprocess.Popen(command, cwd=BENCH, env=env, **_QUIET), port)


_QUIET = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}


def _wait_until_up(process: subprocess.Popen, port: int) -> subprocess.Popen:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.terminate()
    raise SystemExit(f"{process.args} did not start on port {port}")


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


def warm(url: str, *extra: str, env: dict | None = None) -> None:
    """A second of light load before measuring (imports, first connections); not measured."""
    command = ["wrk", "-t1", "-c2", "-d1s", *extra, url]
    subprocess.run(command, env={**os.environ, **(env or {})}, check=True, capture_output=True)


def wrk(url: str, *extra: str, env: dict | None = None, load: tuple[str, str]) -> dict:
    settle()
    threads, connections = load
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{DURATION}", "--latency", *extra]
    out = subprocess.run(
        [*command, url], env={**os.environ, **(env or {})}, check=True, capture_output=True
    )
    text = out.stdout.decode()
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = int(errors.group(1)) if errors else 0
    answered = re.search(r"(\d+) requests in ([\d.]+)s", text)
    seconds = float(answered.group(2))
    # Successes per second: wrk's Requests/sec counts every answer, and a case whose answers
    # are mostly 429 (scrypt's full hashing pool) would look fast.
    rps = (int(answered.group(1)) - errors) / seconds
    flows = re.search(r"^flows: (\d+)$", text, re.M)
    failed = re.search(r"^failed flows: (\d+)$", text, re.M)
    # The hashing cases' scripts count the 429s of a full hashing pool, an answer by design.
    statuses = {int(s): int(n) for s, n in re.findall(r"^status (\d+): (\d+)$", text, re.M)}
    refused = statuses.pop(429, 0)
    if flows:
        errors = int(failed.group(1))  # every unexpected answer fails its flow
    else:
        errors -= refused
    return {
        "rps": rps,
        "p50": re.search(r"\s50%\s+(\S+)", text).group(1),
        "p99": re.search(r"\s99%\s+(\S+)", text).group(1),
        "errors": errors,
        "refused": refused,
        # The other answers that are not 2xx or 3xx, by status, where the script counts them.
        "unexpected": {s: n for s, n in statuses.items() if s >= 400},
        "flows": int(flows.group(1)) / seconds if flows else None,
    }


def signin_form(base: str) -> dict:
    """GET /SignIn once, as a browser would: its session cookie and the form's body for each
    member (one line each, for bench/post_form.lua)."""
    page = requests.get(f"{base}/SignIn", timeout=30)
    page.raise_for_status()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    cookie = "; ".join(f"{k}={v}" for k, v in page.cookies.items())
    fields = [{"username": u, "password": PASSWORD, "csrf_token": token} for u in MEMBERS]
    return {**_form("/SignIn", *fields), "BENCH_COOKIE": cookie, "BENCH_COUNT_STATUSES": "1"}


def _form(path: str, *forms: dict) -> dict:
    """bench/post_form.lua's environment: the path and the forms' bodies, one per line."""
    return {"BENCH_PATH": path, "BENCH_BODY": "\n".join(urlencode(f) for f in forms)}


# What each case sends: a name, wrk's path and extra arguments, the environment of wrk's script
# (a function of the mock's URL and the tokens minted for it), the target's kind, wrk's load.
FORM = ["-s", str(BENCH / "post_form.lua")]
CASES = [
    {
        "key": "refresh",
        "name": "POST /token refresh_token",
        "extra": FORM,
        "env": lambda mock, minted: _form(
            "/token",
            {
                "grant_type": "refresh_token",
                "client_id": CLIENT_ID,
                "client_secret": SECRET,
                "refresh_token": minted["refresh"],
            },
        ),
        "target": "sqlite",
    },
    {
        "key": "api",
        "name": "GET /api/Party/{id} (bearer)",
        "path": f"/api/Party/{PARTY}",
        "extra": lambda minted: ["-H", f"Authorization: Bearer {minted['access']}"],
        "target": "sqlite",
    },
    {
        "key": "password",
        "name": "POST /token password",
        "extra": FORM,
        "env": lambda mock, minted: (
            _form(
                "/token",
                *({"grant_type": "password", "username": u, "password": PASSWORD} for u in MEMBERS),
            )
            | {"BENCH_COUNT_STATUSES": "1"}
        ),
    },
    {
        # As a browser sends it: the session cookie and the CSRF token come from one GET /SignIn
        # before the run and are sent again on every POST (Flask-WTF's token stays valid for that
        # session), so each POST is checked for CSRF, hashes the password and starts a session.
        "key": "signin",
        "name": "POST /SignIn (with CSRF)",
        "extra": FORM,
        "env": lambda mock, minted: signin_form(mock),
    },
    {
        # Whole SSO flows (bench/sso_flow.lua): GET and POST /SignIn, the record page with the
        # hand-off, /token, one API call; one flow at a time per connection, so one connection
        # per wrk thread. Compared with hello-world's requests/s divided by 5.
        "key": "flow",
        "name": "SSO flows (5 requests each)",
        "extra": ["-s", str(BENCH / "sso_flow.lua")],
        "env": lambda mock, minted: {
            "BENCH_MEMBERS": ",".join(f"{u}:{party}" for u, party in MEMBERS.items()),
            "BENCH_PASSWORD": PASSWORD,
            "BENCH_CLIENT_ID": "SampleApp",
            "BENCH_CLIENT_SECRET": "SampleApp-demo-secret-not-for-production",
            "BENCH_RECORD": "/SampleApp.aspx",
        },
        "load": (FLOW_CONNECTIONS, FLOW_CONNECTIONS),
        "per_request": 5,
    },
]


def chosen_cases(mock: str, minted: dict, keys: list[str], setup: str, label: str) -> list[dict]:
    """The cases named in `keys`, ready for wrk against this mock; targets for this set-up."""
    chosen = []
    for case in CASES:
        if case["key"] not in keys:
            continue
        extra = case.get("extra", [])
        target = case.get("target")
        if case.get("per_request"):
            target = "flow" if setup == "cheap" else None
        elif target and setup == "pg":
            target = "pg"
        chosen.append(
            {
                **case,
                "name": case["name"] + label,
                "path": case.get("path", ""),
                "extra": extra(minted) if callable(extra) else extra,
                "env": case["env"](mock, minted) if "env" in case else {},
                "target": TARGETS[target] if target else None,
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
        if case.get("per_request"):
            base["flows"] = base["rps"] / case["per_request"]
            ratio = result["flows"] / base["flows"]
        else:
            ratio = result["rps"] / base["rps"]
        rounds.append({"case": case, "hello": base, "mock": result, "ratio": ratio})
    rounds.sort(key=lambda r: r["ratio"])
    median = rounds[len(rounds) // 2]
    median["mock"]["errors"] = sum(r["mock"]["errors"] for r in rounds)
    median["mock"]["refused"] = sum(r["mock"]["refused"] for r in rounds)
    median["mock"]["unexpected"] = Counter()
    for r in rounds:
        median["mock"]["unexpected"].update(r["mock"]["unexpected"])
    median["ratios"] = [r["ratio"] for r in rounds]
    return median


def report(results: list[dict]) -> None:
    print(
        f"\nwrk -t{THREADS} -c{CONNECTIONS} -d{DURATION} (flows: -t{FLOW_CONNECTIONS} "
        f"-c{FLOW_CONNECTIONS}); the mock as `make run` serves it (serve.py), hello-world on "
        f"granian --interface wsgi --workers {WORKERS}; {ROUNDS} rounds of hello-world then the "
        "mock, the median round shown"
    )
    head = f"{'case':40} {'mock':>8} {'p50':>8} {'p99':>8} {'errors':>6} {'429':>6} {'hello':>8}"
    head += f" {'ratio':>6}"
    print(head + "  target")
    for r in results:
        mock, hello, case = r["mock"], r["hello"], r["case"]
        rate = mock["flows"] if mock["flows"] is not None else mock["rps"]
        base = hello["flows"] if hello["flows"] is not None else hello["rps"]
        target = f">= {case['target']:.2f}" if case["target"] else "-"
        if case["target"]:
            target += "  met" if r["ratio"] >= case["target"] else "  NOT met"
        print(
            f"{case['name']:40} {rate:>8.1f} {mock['p50']:>8} {mock['p99']:>8} "
            f"{mock['errors']:>6} {mock['refused']:>6} {base:>8.1f} {r['ratio']:>6.2f}  {target}"
        )
    print("mock and hello are successful answers/s (flows/s for the SSO flows, hello-world's / 5)")
    print("p50 and p99 are the mock's latencies in its median round")
    print(
        "errors: unexpected answers in all rounds (failed flows for the flows); 429: answers of a"
        " full hashing pool (or of a member's attempts in flight at its limit) in the cases that"
        " hash a password, by design (services/throttle.py)"
    )
    for r in results:
        ratios = ", ".join(f"{ratio:.2f}" for ratio in r["ratios"])
        print(f"{r['case']['name']:40} ratio of each round: {ratios}")
    for r in results:
        if r["mock"]["unexpected"]:
            listed = ", ".join(f"{n} x {s}" for s, n in sorted(r["mock"]["unexpected"].items()))
            print(f"{r['case']['name']:40} unexpected answers: {listed}")


def measure(hello: str, instance: Path, base_env: dict, setup: str, keys: list[str]) -> list:
    """Start the mock in one set-up, run the chosen cases beside hello-world, stop it."""
    database_env, label = SETUPS[setup]
    minted = prepare_mock(instance, database_env)
    port = free_port()
    mock_env = {**base_env, "IMIS_INSTANCE_PATH": str(instance), **database_env}
    process = start_mock(port, mock_env)
    mock = f"http://127.0.0.1:{port}"
    try:
        warm(f"{mock}/")  # then measure case by case
        results = []
        for case in chosen_cases(mock, minted, keys, setup, label):
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


SETUPS: dict[str, tuple[dict, str]] = {
    "sqlite": ({}, ""),
    "cheap": (CHEAP_HASH, " [cheap hash]"),
    "pg": ({}, " [PG]"),  # the scratch database's URL is added in main()
}


def main() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: `make bench` installs it with apt-get")
    # lists: bench/api_cases.py; iqa: bench/iqa_cases.py; guessing: bench/guessing.py; floor:
    # bench/floor_cases.py
    every = [case["key"] for case in CASES] + ["floor", "lists", "iqa", "guessing"]
    keys = os.environ.get("BENCH_CASES", ",".join(every)).split(",")
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    hello_port = free_port()
    hello = f"http://127.0.0.1:{hello_port}"
    hello_process = start_hello(hello_port, base_env)
    warm(f"{hello}/")
    folders = []
    results = []
    try:
        wrk_keys = [key for key in keys if key in {case["key"] for case in CASES}]
        plan = [("sqlite", wrk_keys), ("cheap", [key for key in keys if key in HASHING_CASES])]
        if PG_URL:
            plan.append(("pg", [key for key in keys if key in PG_CASES]))
        for setup, setup_keys in plan:
            if not setup_keys:
                continue
            folders.append(Path(tempfile.mkdtemp(prefix=f"imis-bench-{setup}-")))
            if setup != "pg":
                results += measure(hello, folders[-1], base_env, setup, setup_keys)
                continue
            url, drop = scratch_postgresql()
            SETUPS["pg"] = ({"FLASK_SQLALCHEMY_DATABASE_URI": url}, SETUPS["pg"][1])
            try:
                results += measure(hello, folders[-1], base_env, setup, setup_keys)
            finally:
                drop()
        if "floor" in keys:
            import floor_cases  # the flows, the refresh grant and the list with none of the mock

            results += floor_cases.measure(hello, base_env)
        if "lists" in keys:
            import api_cases  # GET /api/Party filtered, on the demo data and 100,000 parties

            results += api_cases.measure(hello, base_env)
        if "iqa" in keys:
            import iqa_cases  # GET /api/query and /api/IQA, 100 rows of 10,000 contacts

            results += iqa_cases.measure(hello, base_env)
        if "guessing" in keys:
            import guessing  # the refresh grant's p99 beside 20 password guessers

            guessed = guessing.measure(base_env)
    finally:
        hello_process.terminate()
        hello_process.wait(timeout=30)
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
    report(results)
    if "guessing" in keys:
        guessing.report(guessed)
    if any(r["mock"]["errors"] for r in results):
        raise SystemExit("the mock answered some requests with an unexpected error")


if __name__ == "__main__":
    main()
