"""Load and crash tests: 50 SSO clients against the real server (2 workers), SQLite and PostgreSQL.

Each client redeems refresh tokens at /token and reads the REST API with the access tokens, as a
third-party app does. The tests check that nothing fails under that load (no 5xx, no "database is
locked"), that every token answered is stored, and that a `kill -9` of a worker or of the whole
server loses nothing that was answered and leaves the database sound.

Select them with `pytest -m load`; its duration is load_seconds() in tests/support/load.py.
"""

import os
import secrets
import signal
import threading
from collections import Counter

import pytest
import requests

from tests.support.data import create_client_application
from tests.support.load import (
    CLIENT_ID,
    CLIENT_SECRET,
    REQUEST_TIMEOUT,
    SsoClients,
    answered_tokens_work,
    integrity_problems,
    load_seconds,
    mint_refresh_tokens,
    mock_server,
    tokens_missing_from_database,
)

pytestmark = pytest.mark.load

CLIENTS = 50
# The crash tests kill the server once the clients have this many token answers, and (for one
# worker) go on until this many more: a bound on requests rather than on time.
ANSWERS_BEFORE_KILL = 150
ANSWERS_AFTER_KILL = 150
# The password-guessing test: guessers, and wrong passwords each (each costs a real scrypt hash).
GUESSERS = 20
GUESSES_EACH = 10
SERVER_LOG_PROBLEMS = ("database is locked", "Traceback", "Database unavailable")


@pytest.fixture
def load_app(app):
    create_client_application(app, CLIENT_ID, CLIENT_SECRET, redirect_url="http://127.0.0.1/sso")
    return app


def assert_clean_log(log_text: str) -> None:
    for problem in SERVER_LOG_PROBLEMS:
        assert problem not in log_text, f"the server log has {problem!r}"


def test_fifty_clients_refresh_and_call_the_api(load_app, instance, tmp_path):
    log = tmp_path / "server.log"
    with mock_server(instance, log) as server:
        clients = SsoClients(server.url, mint_refresh_tokens(load_app, CLIENTS))
        tally = clients.run_for(load_seconds())
    assert tally.failures == []
    assert tally.connection_errors == 0
    assert set(tally.token_statuses) == {200} and set(tally.api_statuses) == {200}
    assert tally.token_statuses[200] >= CLIENTS  # every client got answers
    assert len(tally.pids) == 2  # both workers served
    assert_clean_log(log.read_text())
    assert tokens_missing_from_database(load_app, tally) == {"refresh": 0, "access": 0}


def test_kill_one_worker_mid_run(load_app, instance, tmp_path):
    log = tmp_path / "server.log"
    with mock_server(instance, log) as server:
        clients = SsoClients(server.url, mint_refresh_tokens(load_app, CLIENTS)).start()
        try:
            clients.wait_for_answers(ANSWERS_BEFORE_KILL)
            with clients.tally.lock:
                before = set(clients.tally.pids)
                victim = clients.tally.pids.most_common(1)[0][0]
            os.kill(victim, signal.SIGKILL)
            # granian respawns the worker; go on until it has answered too.
            clients.wait_for_answers(
                ANSWERS_BEFORE_KILL + ANSWERS_AFTER_KILL,
                lambda: set(clients.tally.pids) - before,
            )
        finally:
            tally = clients.stop()
        assert tally.failures == []
        assert set(tally.token_statuses) == {200} and set(tally.api_statuses) == {200}
        assert tokens_missing_from_database(load_app, tally) == {"refresh": 0, "access": 0}
        assert answered_tokens_work(server.url, tally) == []
    assert integrity_problems(load_app) == []
    assert_clean_log(log.read_text())


def test_kill_the_whole_server_mid_run_and_restart(load_app, instance, tmp_path):
    log = tmp_path / "server.log"
    server = mock_server(instance, log).start()
    clients = SsoClients(server.url, mint_refresh_tokens(load_app, CLIENTS)).start()
    try:
        clients.wait_for_answers(ANSWERS_BEFORE_KILL)
        os.killpg(server.process.pid, signal.SIGKILL)  # the master and every worker
        server.process.wait()
    finally:
        tally = clients.stop()
        server.stop()
    assert tally.failures == []
    assert integrity_problems(load_app) == []
    assert tokens_missing_from_database(load_app, tally) == {"refresh": 0, "access": 0}
    with mock_server(instance, log) as restarted:
        assert answered_tokens_work(restarted.url, tally) == []
    assert integrity_problems(load_app) == []
    assert_clean_log(log.read_text())


def test_password_guessing_beside_sso_clients(load_app, instance, tmp_path):
    """Wrong passwords at /token, hashed with scrypt as in production, while SSO clients refresh
    and call the API: the guessing must not hold up the database for everyone else."""
    log = tmp_path / "server.log"
    statuses: Counter = Counter()
    lock = threading.Lock()

    def guess(url: str) -> None:
        for _ in range(GUESSES_EACH):
            # A new unknown username each time: never locked out, so every guess is hashed.
            form = {"grant_type": "password", "username": f"nobody-{secrets.token_hex(8)}"}
            answer = requests.post(
                url + "/token", data={**form, "password": "guess"}, timeout=REQUEST_TIMEOUT
            )
            with lock:
                statuses[answer.status_code] += 1

    with mock_server(instance, log, FLASK_PASSWORD_HASH_METHOD="scrypt") as server:
        clients = SsoClients(server.url, mint_refresh_tokens(load_app, CLIENTS - GUESSERS)).start()
        guessers = [threading.Thread(target=guess, args=(server.url,)) for _ in range(GUESSERS)]
        try:
            for guesser in guessers:
                guesser.start()
            for guesser in guessers:
                guesser.join()
        finally:
            tally = clients.stop()
    # Every guess is refused: hashed (400) until the address is locked out, then 429 unhashed.
    assert set(statuses) <= {400, 429} and statuses.total() == GUESSERS * GUESSES_EACH
    assert statuses[400] <= load_app.config["ADDRESS_MAX_FAILURES"]
    assert tally.failures == [] and tally.connection_errors == 0
    assert tally.token_statuses[200] > 0
    assert_clean_log(log.read_text())
