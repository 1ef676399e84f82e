"""Sign-in throttling: shared through the database, checked before any password hashing."""

import threading

import pytest
import requests
from sqlalchemy import select

from imis_mock.extensions import db
from imis_mock.models import SignInThrottle
from imis_mock.services import accounts, clock
from tests.support.apps import sign_in
from tests.support.data import MEMBER_PASSWORD, STAFF_PASSWORD

FAILED = "The username or password you entered is incorrect."


def fail(client, username="jsmith", times=5, site="member"):
    for _ in range(times):
        assert FAILED in sign_in(client, username, "wrong", site=site).get_data(as_text=True)


def test_five_failures_lock_out_even_the_right_password(client, app):
    fail(client, times=4)
    assert sign_in(client, "jsmith", MEMBER_PASSWORD).status_code == 303  # 4 failures: still fine
    client.post("/SignOut")
    fail(client, times=5)
    response = sign_in(client, "JSMITH", MEMBER_PASSWORD)
    assert response.status_code == 200
    assert FAILED in response.get_data(as_text=True)  # the same generic message
    with app.test_request_context():
        clock.advance(16)
    assert sign_in(client, "jsmith", MEMBER_PASSWORD).status_code == 303


def test_lockout_is_checked_before_hashing(client, monkeypatch):
    fail(client)
    calls = []
    import imis_mock.services.accounts as module

    monkeypatch.setattr(module, "check_password_hash", lambda *a: calls.append(a) or True)
    sign_in(client, "jsmith", MEMBER_PASSWORD)
    assert calls == []


def test_unknown_usernames_are_throttled_too(client, app):
    fail(client, username="nobody")
    with app.app_context():
        row = db.session.get(SignInThrottle, "nobody")
        assert row.locked_until is not None


def test_failures_outside_the_window_are_forgotten(client, app):
    fail(client, times=4)
    with app.test_request_context():
        clock.advance(16)
    fail(client, times=4)
    assert sign_in(client, "jsmith", MEMBER_PASSWORD).status_code == 303


def test_success_clears_the_counter(client, app):
    fail(client, times=4)
    assert sign_in(client, "jsmith", MEMBER_PASSWORD).status_code == 303
    with app.app_context():
        assert db.session.get(SignInThrottle, "jsmith") is None


def test_staff_and_member_sign_in_share_the_counter(client):
    fail(client, username="MANAGER", times=3, site="staff")
    fail(client, username="manager", times=2, site="member")
    response = sign_in(client, "MANAGER", STAFF_PASSWORD, site="staff")
    assert FAILED in response.get_data(as_text=True)


def test_other_users_are_not_affected(client):
    fail(client)
    assert sign_in(client, "rjones", MEMBER_PASSWORD).status_code == 303


@pytest.mark.parametrize("threads", [20])
def test_parallel_failures_lock_and_attempts_beyond_the_limit_are_told_to_retry(
    app, live_server, threads
):
    app.config["HASH_CONCURRENCY"] = threads  # the hashing pool is tested in test_hardening_token
    limit = app.config["THROTTLE_MAX_FAILURES"]
    barrier = threading.Barrier(threads)
    answers = []

    def attempt():
        barrier.wait()
        response = requests.post(
            f"{live_server.url}/SignIn", data={"username": "apatel", "password": "x"}, timeout=30
        )
        answers.append(response)

    workers = [threading.Thread(target=attempt) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    # The first `limit` reach the hash and are refused as wrong; those that came while they were
    # in flight are told to retry (429), those after them find the username locked (refused as
    # wrong). How many reach the hash is counted in test_hardening_token (a slow hash there).
    refused = [a for a in answers if a.status_code == 200]
    retry = [a for a in answers if a.status_code == 429]
    assert len(refused) + len(retry) == threads
    assert len(refused) >= limit and all("incorrect" in a.text for a in refused)
    assert all(a.headers["Retry-After"] == "1" for a in retry)
    with app.app_context():
        row = db.session.scalar(
            select(SignInThrottle).where(SignInThrottle.username_key == "apatel")
        )
        assert row.locked_until is not None
    with app.test_request_context():
        assert accounts.authenticate("apatel", MEMBER_PASSWORD) is None
