"""`make bench`, case "guessing": the refresh grant's p99 while 20 connections guess passwords.

Finding 3 of the attacker's probe: 20 threads guessing passwords on the password grant moved the
refresh grant's p95 from 5 ms to 1.4 s, because every guess cost a full scrypt hash. The mock now
reserves each attempt and hashes in a bounded pool (imis_mock/services/throttle.py), so the
guessers get 429 and the refresh grant should keep its pace. This measures it, on SQLite with the
default password hash (scrypt): the refresh grant under wrk alone, then again while GUESSERS
connections of a second wrk (bench/guess_password.lua) post wrong passwords for random usernames
to /token. Target: the p99 with guessers at most twice the p99 without. A measurement, not a
test: the machine is shared. BENCH_ROUNDS rounds (alone, then with the guessers) on one server;
the round with the median ratio is shown, with every round's ratio.
"""

import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import run

GUESSERS = 20
# Longer than the measurement (run.wrk waits up to 5 s for a quiet machine first).
GUESS_SECONDS = 8 + int(run.DURATION.rstrip("s"))
SCRIPT = Path(__file__).resolve().parent / "guess_password.lua"
TARGET = 2.0


def milliseconds(latency: str) -> float:
    """wrk's latency text (`812.00us`, `5.23ms`, `1.40s`) in milliseconds."""
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", latency).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def measure(base_env: dict) -> list[dict]:
    """Start the mock (SQLite, scrypt); return BENCH_ROUNDS rounds of the refresh grant's figures
    without the guessers, then with them."""
    folder = Path(tempfile.mkdtemp(prefix="imis-bench-guessing-"))
    port = run.free_port()
    mock = f"http://127.0.0.1:{port}"
    rounds = []
    try:
        minted = run.prepare_mock(folder, {})
        process = run.start_mock(port, {**base_env, "IMIS_INSTANCE_PATH": str(folder)})
        try:
            refresh = next(case for case in run.CASES if case["key"] == "refresh")
            env = refresh["env"](mock, minted)
            load = (run.THREADS, run.CONNECTIONS)
            subprocess.run(["wrk", "-t1", "-c2", "-d1s", f"{mock}/"], check=True)
            for _ in range(run.ROUNDS):
                rounds.append(_round(mock, refresh, env, load))
        finally:
            process.terminate()
            process.wait(timeout=30)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return rounds


def _round(mock: str, refresh: dict, env: dict, load: tuple) -> dict:
    alone = run.wrk(f"{mock}/token", *refresh["extra"], env=env, load=load)
    # The guessers: wrk too (C, not Python threads, so the load tool takes little of the machine
    # from the mock), GUESSERS connections, running past the measurement.
    guessers = subprocess.Popen(
        ["wrk", "-t1", f"-c{GUESSERS}", f"-d{GUESS_SECONDS}s", "-s", str(SCRIPT), mock],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(1)  # let the guessers lock their address out, as they would
        beside = run.wrk(f"{mock}/token", *refresh["extra"], env=env, load=load)
    finally:
        answers = guessers.communicate(timeout=GUESS_SECONDS + 30)[0].decode()
    ratio = milliseconds(beside["p99"]) / milliseconds(alone["p99"])
    return {"alone": alone, "beside": beside, "answers": answers, "ratio": ratio}


def report(rounds: list[dict]) -> None:
    """Print the round with the median ratio, and every round's ratio (as bench/run.py does)."""
    result = sorted(rounds, key=lambda r: r["ratio"])[len(rounds) // 2]
    alone, beside, ratio = result["alone"], result["beside"], result["ratio"]
    verdict = "met" if ratio <= TARGET else "NOT met"
    print(f"\nPOST /token refresh_token beside {GUESSERS} password guessers (SQLite, scrypt)")
    print(f"{'':24} {'req/s':>8} {'p50':>8} {'p99':>8} {'errors':>6}")
    for label, figures in (("alone", alone), ("with guessers", beside)):
        print(
            f"{label:24} {figures['rps']:>8.1f} {figures['p50']:>8} {figures['p99']:>8} "
            f"{figures['errors']:>6}"
        )
    print(f"p99 with guessers / p99 alone: {ratio:.2f} (target <= {TARGET:.0f}: {verdict})")
    print("ratio of each round: " + ", ".join(f"{r['ratio']:.2f}" for r in rounds))
    requests_line = re.search(r"(\d+) requests in", result["answers"])
    refused = re.search(r"Non-2xx or 3xx responses: (\d+)", result["answers"])
    print(
        f"the guessers sent {requests_line.group(1) if requests_line else '?'} requests, "
        f"{refused.group(1) if refused else 0} refused (400 or 429)"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    report(measure({}))
