"""`make bench`: requests per second of POST /token (refresh grant) against a hello-world Flask app.

Both apps run under gunicorn with the project's gunicorn.conf.py and the same settings (2 workers;
the access log is off for both, so the figure measures the apps, not the log writer), in the same
run, loaded in turn by wrk with the same threads, connections and duration. The mock gets a
scratch instance folder (SQLite database, demo data, one client application, one refresh token).
Default rotation is used, so every request redeems the same refresh token and succeeds.
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

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
DURATION = os.environ.get("BENCH_DURATION", "10s")
CONNECTIONS = os.environ.get("BENCH_CONNECTIONS", "16")
THREADS = os.environ.get("BENCH_THREADS", "2")
WORKERS = os.environ.get("BENCH_WORKERS", "2")
ACCESS_LOG = os.environ.get("BENCH_ACCESS_LOG", "/dev/null")
CLIENT_ID, SECRET = "BenchApp", "Bench-secret-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_mock(instance: Path) -> str:
    """Migrate a scratch database, register the client, mint a refresh token; return it."""
    env = {**os.environ, "IMIS_INSTANCE_PATH": str(instance)}
    flask = [str(VENV_BIN / "flask"), "--app", "app"]
    subprocess.run([*flask, "init-db"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run([*flask, "load-demo"], cwd=ROOT, env=env, check=True, capture_output=True)
    script = f"""
from app import app
from imis_mock.extensions import db
from imis_mock.models import ClientApplication
from imis_mock.services import accounts, secrets, sso
with app.app_context():
    client = ClientApplication(client_id={CLIENT_ID!r}, client_id_key={CLIENT_ID.lower()!r},
        secret_hash=secrets.client_secret_hash({SECRET!r}), refresh_token_lifetime=60,
        redirect_url="https://bench.example/sso")
    db.session.add(client)
    db.session.commit()
    print(sso.start_handoff(accounts.get_user("jsmith"), client))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, check=True, capture_output=True
    )
    return out.stdout.decode().strip().splitlines()[-1]


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


def wrk(url: str, *extra: str, env: dict | None = None) -> dict:
    command = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{DURATION}", "--latency", *extra]
    out = subprocess.run([*command, url], env=env, check=True, capture_output=True, text=True)
    text = out.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p50 = re.search(r"\s50%\s+(\S+)", text).group(1)
    p99 = re.search(r"\s99%\s+(\S+)", text).group(1)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return {"rps": rps, "p50": p50, "p99": p99, "non2xx": int(errors.group(1)) if errors else 0}


def main() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: `make bench` installs it with apt-get")
    instance = Path(tempfile.mkdtemp(prefix="imis-bench-"))
    processes = []
    try:
        token = prepare_mock(instance)
        body = urlencode(
            {
                "grant_type": "refresh_token",
                "client_id": CLIENT_ID,
                "client_secret": SECRET,
                "refresh_token": token,
            }
        )
        hello_port, mock_port = free_port(), free_port()
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
        processes.append(start("hello:app", hello_port, base_env, ROOT / "bench"))
        mock_env = {**base_env, "IMIS_INSTANCE_PATH": str(instance)}
        processes.append(start("app:app", mock_port, mock_env, ROOT))

        # Warm both up, then measure each in turn.
        wrk(f"http://127.0.0.1:{hello_port}/", "-d2s")
        wrk_env = {**os.environ, "BENCH_TOKEN_BODY": body}
        lua = str(ROOT / "bench" / "refresh.lua")
        wrk(f"http://127.0.0.1:{mock_port}", "-d2s", "-s", lua, env=wrk_env)
        hello = wrk(f"http://127.0.0.1:{hello_port}/")
        mock = wrk(f"http://127.0.0.1:{mock_port}", "-s", lua, env=wrk_env)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        shutil.rmtree(instance, ignore_errors=True)

    print(f"wrk -t{THREADS} -c{CONNECTIONS} -d{DURATION}; gunicorn {WORKERS} workers, same config")
    print(f"{'':28} {'req/s':>10} {'p50':>9} {'p99':>9} {'non-2xx':>8}")
    for name, r in (("hello-world Flask (GET /)", hello), ("mock POST /token refresh", mock)):
        print(f"{name:28} {r['rps']:>10.1f} {r['p50']:>9} {r['p99']:>9} {r['non2xx']:>8}")
    ratio = mock["rps"] / hello["rps"]
    print(f"ratio mock / hello-world: {ratio:.2f} (target >= 0.40)")
    if mock["non2xx"]:
        raise SystemExit("the mock answered some requests with an error")


if __name__ == "__main__":
    main()
