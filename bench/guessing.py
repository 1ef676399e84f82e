"""`make bench`, case "guessing": the refresh grant's p99 while 20 threads guess passwords.

Finding 3 of the attacker's probe: 20 threads guessing passwords on the password grant moved the
refresh grant's p95 from 5 ms to 1.4 s, because every guess cost a full scrypt hash. The mock now
reserves each attempt and hashes in a bounded pool (imis_mock/services/throttle.py), so the
guessers get 429 and the refresh grant should keep its pace. This measures it, on SQLite with the
default password hash (scrypt): the refresh grant under wrk alone, then again while GUESSERS
threads post wrong passwords for random usernames to /token. Target: the p99 with guessers at
most twice the p99 without. A measurement, not a test: the machine is shared.
"""

import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

import requests
import run

GUESSERS = 20
TARGET = 2.0


def milliseconds(latency: str) -> float:
    """wrk's latency text (`812.00us`, `5.23ms`, `1.40s`) in milliseconds."""
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", latency).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def guess(mock: str, stop: threading.Event, answers: Counter) -> None:
    """Post wrong passwords for random usernames until told to stop; count the statuses."""
    session = requests.Session()
    while not stop.is_set():
        form = {
            "grant_type": "password",
            "username": f"guess-{secrets.token_hex(4)}",
            "password": secrets.token_hex(8),
        }
        try:
            answers[session.post(f"{mock}/token", data=form, timeout=30).status_code] += 1
        except requests.RequestException:
            answers["error"] += 1


def measure(base_env: dict) -> dict:
    """Start the mock (SQLite, scrypt); return the refresh p99 without and with the guessers."""
    folder = Path(tempfile.mkdtemp(prefix="imis-bench-guessing-"))
    port = run.free_port()
    mock = f"http://127.0.0.1:{port}"
    try:
        minted = run.prepare_mock(folder, {})
        process = run.start_mock(port, {**base_env, "IMIS_INSTANCE_PATH": str(folder)})
        try:
            refresh = next(case for case in run.CASES if case["key"] == "refresh")
            env = refresh["env"](mock, minted)
            load = (run.THREADS, run.CONNECTIONS)
            subprocess.run(["wrk", "-t1", "-c2", "-d1s", f"{mock}/"], check=True)
            alone = run.wrk(f"{mock}/token", *refresh["extra"], env=env, load=load)
            stop, answers = threading.Event(), Counter()
            guessers = [
                threading.Thread(target=guess, args=(mock, stop, answers), daemon=True)
                for _ in range(GUESSERS)
            ]
            for thread in guessers:
                thread.start()
            try:
                beside = run.wrk(f"{mock}/token", *refresh["extra"], env=env, load=load)
            finally:
                stop.set()
                for thread in guessers:
                    thread.join(timeout=60)
        finally:
            process.terminate()
            process.wait(timeout=30)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"alone": alone, "beside": beside, "answers": answers}


def report(result: dict) -> None:
    alone, beside = result["alone"], result["beside"]
    ratio = milliseconds(beside["p99"]) / milliseconds(alone["p99"])
    verdict = "met" if ratio <= TARGET else "NOT met"
    print(f"\nPOST /token refresh_token beside {GUESSERS} password guessers (SQLite, scrypt)")
    print(f"{'':24} {'req/s':>8} {'p50':>8} {'p99':>8} {'errors':>6}")
    for label, figures in (("alone", alone), ("with guessers", beside)):
        print(
            f"{label:24} {figures['rps']:>8.1f} {figures['p50']:>8} {figures['p99']:>8} "
            f"{figures['errors']:>6}"
        )
    print(f"p99 with guessers / p99 alone: {ratio:.2f} (target <= {TARGET:.0f}: {verdict})")
    answers = ", ".join(
        f"{status}: {count}" for status, count in sorted(result["answers"].items(), key=str)
    )
    print(f"the guessers' answers: {answers}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    report(measure({}))
