"""Findings 1-5 and the /token nits of 13 of the attacker's probe, over real HTTP.

Each test failed on the code before its fix. They run on SQLite and on PostgreSQL (the busy
timeout one on SQLite only: it is SQLite's).
"""

import base64
import http.client
import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from urllib.parse import urlencode

import pytest
import requests
from sqlalchemy import select

from imis_mock import database
from imis_mock.extensions import db
from imis_mock.models import SignInThrottle
from imis_mock.services import accounts, clock, throttle, tokens
from tests.support.data import MEMBER_PASSWORD, STAFF_PASSWORD, create_client_application
from tests.support.oauth import SECRET, mint
from tests.support.servers import LiveServer

CLIENTS = "/staff/RiSE/Maintenance/ClientApplications"
# A second client address: Linux routes all of 127.0.0.0/8 to the loopback interface.
OTHER_ADDRESS = "127.0.0.2"


@pytest.fixture
def token_app(app):
    create_client_application(app, "MyApp", SECRET, lifetime=30)
    return app


@pytest.fixture
def server(token_app):
    with LiveServer(token_app) as live:
        yield live


def post_token(server, form: dict, *, headers: dict | None = None, source: str | None = None):
    """POST /token as a form, from 127.0.0.1 or another loopback address; return (status,
    headers, JSON body)."""
    host, port = server.url.removeprefix("http://").split(":")
    source_address = (source, 0) if source else None
    connection = http.client.HTTPConnection(
        host, int(port), timeout=30, source_address=source_address
    )
    try:
        all_headers = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        connection.request("POST", "/token", body=urlencode(form), headers=all_headers)
        response = connection.getresponse()
        body = response.read()
        return response.status, response.headers, json.loads(body)
    finally:
        connection.close()


def refresh(raw: str, client_id: str = "MyApp", secret: str = SECRET) -> dict:
    return {
        "grant_type": "refresh_token",
        "client_id": client_id,
        "client_secret": secret,
        "refresh_token": raw,
    }


def password(username: str, secret: str) -> dict:
    return {"grant_type": "password", "username": username, "password": secret}


def assert_throttled(status, headers, body) -> int:
    assert status == 429, body
    assert body["error"] == "temporarily_unavailable"
    assert headers["Cache-Control"] == "no-store"
    retry_after = int(headers["Retry-After"])
    assert retry_after >= 1
    return retry_after


def staff_session(server) -> requests.Session:
    browser = requests.Session()
    response = browser.post(
        server.url + "/staff/SignIn",
        data={"username": "MANAGER", "password": STAFF_PASSWORD},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 303
    return browser


def activity(staff: requests.Session, server) -> list[dict]:
    """The QA console's activity, oldest first."""
    return list(reversed(staff.get(server.url + "/staff/QA/Activity.json", timeout=30).json()))


# --- 1. Client secrets: at least 32 characters, generated on request; failures throttled -------


def test_staff_form_refuses_a_short_secret_and_says_why(server):
    staff = staff_session(server)
    form = {
        "client_id": "ShortApp",
        "client_secret": "x" * 31,
        "refresh_token_lifetime": "30",
        "redirect_url": "https://app.example.com/sso",
        "submit": "Save",
    }
    response = staff.post(server.url + CLIENTS + "/New", data=form, allow_redirects=False)
    assert response.status_code == 400
    assert "at least 32 characters, so that it cannot be guessed" in response.text
    assert "ShortApp" not in staff.get(server.url + CLIENTS).text
    # Generate proposes one that passes; saving it works.
    generated = staff.post(
        server.url + CLIENTS + "/New", data={**form, "submit": None, "generate": "Generate"}
    )
    assert "at least 32 characters" not in generated.text
    form["client_secret"] = "y" * 32
    response = staff.post(server.url + CLIENTS + "/New", data=form, allow_redirects=False)
    assert response.status_code == 303


def test_failed_client_authentication_is_throttled_per_client_and_address(token_app, server):
    raw = mint(token_app)
    limit = token_app.config["CLIENT_MAX_FAILURES"]
    for _ in range(limit):
        status, _, body = post_token(server, refresh(raw, secret="wrong"))
        assert (status, body["error"]) == (400, "invalid_client")
    # Locked for this client id from this address: even the right secret (the fast path's case).
    retry_after = assert_throttled(*post_token(server, refresh(raw)))
    assert retry_after <= token_app.config["CLIENT_LOCKOUT_SECONDS"]
    # In any letter case, with Basic too.
    assert_throttled(*post_token(server, refresh(raw, client_id="MYAPP")))
    # The real client on another host is not locked out.
    status, _, body = post_token(server, refresh(raw), source=OTHER_ADDRESS)
    assert status == 200, body
    # And here, not for long: after the lockout the right secret works again.
    with token_app.test_request_context():
        clock.advance(token_app.config["CLIENT_LOCKOUT_SECONDS"] / 60 + 1 / 60)
    status, _, body = post_token(server, refresh(raw))
    assert status == 200, body


def test_unknown_client_ids_are_throttled_alike(token_app, server):
    for _ in range(token_app.config["CLIENT_MAX_FAILURES"]):
        status, _, body = post_token(server, refresh("x", client_id="NoSuchApp", secret="s"))
        assert (status, body["error"]) == (400, "invalid_client")
    assert_throttled(*post_token(server, refresh("x", client_id="NoSuchApp", secret="s")))


def test_client_throttle_is_shared_by_every_worker(token_app, server, instance, monkeypatch):
    """A second app on the same database (another worker) sees the first one's count."""
    from tests.support.apps import make_app

    raw = mint(token_app)
    for _ in range(token_app.config["CLIENT_MAX_FAILURES"]):
        post_token(server, refresh(raw, secret="wrong"))
    with LiveServer(make_app(instance, monkeypatch)) as other_worker:
        assert_throttled(*post_token(other_worker, refresh(raw)))


# --- 2. A sign-in attempt is reserved before hashing ------------------------------------------


def test_a_parallel_burst_gets_no_more_than_the_limit_through_the_hash(app, monkeypatch):
    guesses, right = 40, 38  # the right password is guess 39
    app.config["HASH_CONCURRENCY"] = guesses  # the pool is not what is tested here
    app.config["ADDRESS_MAX_FAILURES"] = 1000
    limit = app.config["THROTTLE_MAX_FAILURES"]
    hashed, limit_reached = [], threading.Event()
    real_check = accounts.check_password_hash

    def slow_check(stored, given):
        hashed.append(given)
        if len(hashed) >= limit:
            limit_reached.set()
        time.sleep(0.3)  # a slow KDF: the window in which the old check let guesses through
        return real_check(stored, given)

    monkeypatch.setattr(accounts, "check_password_hash", slow_check)
    barrier = threading.Barrier(guesses - 1)
    statuses: dict[int, tuple[int, str]] = {}

    def guess(index: int):
        if index == right:
            limit_reached.wait(30)
        else:
            barrier.wait()
        secret = MEMBER_PASSWORD if index == right else f"wrong-{index}"
        response = requests.post(
            live.url + "/SignIn",
            data={"username": "apatel", "password": secret},
            allow_redirects=False,
            timeout=60,
        )
        statuses[index] = (response.status_code, response.text)

    with LiveServer(app) as live:
        threads = [threading.Thread(target=guess, args=(i,)) for i in range(guesses)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(hashed) <= limit
        # The right password, sent while the limit's guesses were still hashing, did not get
        # through: it was told to retry, since those in flight might have been right.
        status, page = statuses[right]
        assert (
            status == 429 and "Too many sign-in attempts right now. Try again in 1 second." in page
        )
        # They were not: the username is now locked, and the right password is refused with
        # the generic message.
        again = requests.post(
            live.url + "/SignIn",
            data={"username": "apatel", "password": MEMBER_PASSWORD},
            allow_redirects=False,
            timeout=60,
        )
        assert again.status_code == 200 and "incorrect" in again.text
    assert len(hashed) <= limit


def test_parallel_right_passwords_beyond_the_limit_are_told_to_retry_not_refused(
    token_app, monkeypatch
):
    # A test suite's parallel workers signing in as one member: those beyond the limit while
    # the others hash get 429 and Retry-After, never invalid_grant, and the member is not locked.
    burst = 12
    token_app.config["HASH_CONCURRENCY"] = burst  # the pool is not what is tested here
    limit = token_app.config["THROTTLE_MAX_FAILURES"]
    real_check = accounts.check_password_hash

    def slow_check(stored, given):
        time.sleep(1)  # a slow KDF: every attempt of the burst is reserved while these hash
        return real_check(stored, given)

    monkeypatch.setattr(accounts, "check_password_hash", slow_check)
    barrier = threading.Barrier(burst)
    answers = []

    def sign_in():
        barrier.wait()
        answers.append(post_token(live, password("rjones", MEMBER_PASSWORD)))

    with LiveServer(token_app) as live:
        threads = [threading.Thread(target=sign_in) for _ in range(burst)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        statuses = sorted(status for status, _, _ in answers)
        assert len(statuses) == burst and set(statuses) == {200, 429}, statuses
        assert statuses.count(200) >= limit
        for status, headers, body in answers:
            if status == 429:
                assert assert_throttled(status, headers, body) == 1
                assert body["error_description"] == "Too many attempts. Try again in 1 second."
        # Retried after its Retry-After, the member signs in: nothing was locked or left held.
        time.sleep(1)
        status, _, body = post_token(live, password("rjones", MEMBER_PASSWORD))
        assert status == 200, body
    assert counters(token_app) == {}


# --- 3. A bounded hashing pool and a per-address limit: 429 with Retry-After ------------------


def test_guessing_from_one_address_gets_429(token_app, server):
    limit = token_app.config["ADDRESS_MAX_FAILURES"]
    for index in range(limit):
        status, _, body = post_token(server, password(f"guess{index}", "wrong"))
        assert (status, body["error"]) == (400, "invalid_grant")
    # Whatever username comes next from this address waits, the right one too.
    retry_after = assert_throttled(*post_token(server, password("jsmith", MEMBER_PASSWORD)))
    assert retry_after <= token_app.config["ADDRESS_LOCKOUT_SECONDS"]
    # The same on the sign-in page, as a page.
    page = requests.post(
        server.url + "/SignIn", data={"username": "jsmith", "password": MEMBER_PASSWORD}
    )
    assert page.status_code == 429 and "Retry-After" in page.headers
    assert "Too many sign-in attempts" in page.text
    # Another address is not affected.
    status, _, body = post_token(server, password("jsmith", MEMBER_PASSWORD), source=OTHER_ADDRESS)
    assert status == 200, body


@contextmanager
def one_request_held(server, form: dict, target, name: str, monkeypatch):
    """Send `form` on a thread and hold it inside `target.name` (its first call there) until the
    block ends; yield the list that receives its (status, headers, body)."""
    holding, release = threading.Event(), threading.Event()
    real = getattr(target, name)

    def held(*args):
        if not holding.is_set():  # the thread's request; others pass
            holding.set()
            assert release.wait(60)
        return real(*args)

    monkeypatch.setattr(target, name, held)
    answers: list = []
    thread = threading.Thread(target=lambda: answers.append(post_token(server, form)))
    thread.start()
    try:
        assert holding.wait(30)
        yield answers
    finally:
        release.set()
        thread.join(30)
    assert len(answers) == 1


def test_a_full_hashing_pool_answers_429_and_refreshes_go_on(token_app, server, monkeypatch):
    token_app.config["HASH_CONCURRENCY"] = 1
    held = password("jsmith", "wrong")
    with one_request_held(server, held, accounts, "check_password_hash", monkeypatch) as first:
        assert_throttled(*post_token(server, password("rjones", "wrong")))
        # Another client's refresh grant does not wait for the hash.
        status, _, body = post_token(server, refresh(mint(token_app)))
        assert status == 200, body
        assert first == []  # the first is still hashing
    assert first[0][0] == 400


def test_an_attempt_waiting_for_its_writes_holds_no_hashing_slot(token_app, server, monkeypatch):
    # The slot is for the hash: an attempt still writing its reservations (on SQLite, waiting
    # for the writers' turn) leaves it free, so a parallel sign-in is not answered 429.
    token_app.config["HASH_CONCURRENCY"] = 1
    held = password("jsmith", MEMBER_PASSWORD)
    with one_request_held(server, held, throttle, "reserve", monkeypatch) as first:
        status, _, body = post_token(server, password("rjones", "wrong"))
        assert (status, body["error"]) == (400, "invalid_grant")
        assert first == []  # the first is still writing
    assert first[0][0] == 200


def counters(app) -> dict[str, int]:
    """The failures and attempts in flight counted for each throttle key (keys with none left
    out)."""
    with app.app_context():
        t = SignInThrottle
        rows = db.session.execute(select(t.username_key, t.failures + t.pending))
        return {key: count for key, count in rows if count}


def test_an_attempt_that_finds_the_pool_full_after_its_reservations_gives_them_back(
    token_app, server, monkeypatch
):
    token_app.config["HASH_CONCURRENCY"] = 1
    held = password("jsmith", "wrong")
    with one_request_held(server, held, accounts, "check_password_hash", monkeypatch):
        before = counters(token_app)
        # The pool fills between the check and the hash: as if the check had found room.
        monkeypatch.setattr(throttle, "check_hashing_room", lambda: None)
        assert_throttled(*post_token(server, password("rjones", "wrong")))
        assert counters(token_app) == before


# --- 4. Enabling a disabled account again does not bring its tokens back ---------------------


def test_enabling_again_does_not_revive_old_tokens(token_app, server):
    raw = mint(token_app)
    status, _, first = post_token(server, refresh(raw))
    assert status == 200
    access = first["access_token"]
    bearer = {"Authorization": f"Bearer {access}"}
    assert requests.get(server.url + "/api/User/23179", headers=bearer).status_code == 200
    staff = staff_session(server)
    for disable in ("1", "0"):
        response = staff.post(
            server.url + "/staff/Contacts/23179/SignIn",
            data={"disable": disable},
            allow_redirects=False,
        )
        assert response.status_code == 303
    for old in (raw, first["refresh_token"]):
        status, _, body = post_token(server, refresh(old))
        assert (status, body["error"]) == (400, "invalid_grant")
    assert requests.get(server.url + "/api/User/23179", headers=bearer).status_code == 401
    # The user signs in again and gets new ones.
    status, _, body = post_token(server, refresh(mint(token_app)))
    assert status == 200


# --- 5. /token waits one busy timeout at most on a locked database ----------------------------


@pytest.mark.database("sqlite", reason="SQLite's busy timeout")
def test_token_waits_one_busy_timeout_on_a_locked_database(token_app, instance, monkeypatch):
    raw = mint(token_app)
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 200)
    with token_app.app_context():
        db.engine.dispose()  # new connections get the short busy timeout
    write_begins = []

    def counted(real):
        @contextmanager
        def counted_writing():
            write_begins.append(1)  # each write transaction waits a busy timeout while locked
            with real() as connection:
                yield connection

        return counted_writing

    def counted_grouped(real):
        def grouped(work):
            write_begins.append(1)
            return real(work)

        return grouped

    # The redemption writes through write_grouped, the other token writes through writing.
    monkeypatch.setattr(tokens, "writing", counted(tokens.writing))
    monkeypatch.setattr(tokens, "write_grouped", counted_grouped(tokens.write_grouped))
    other = sqlite3.connect(instance / "imis.db", isolation_level=None)
    try:
        with LiveServer(token_app) as live:
            other.execute("BEGIN IMMEDIATE")
            status, headers, body = post_token(live, refresh(raw))
            other.execute("ROLLBACK")
            assert status == 503 and "Retry-After" in headers
            assert body["error"] == "temporarily_unavailable"
            assert len(write_begins) == 1
            status, _, body = post_token(live, refresh(raw))
            assert status == 200, body
    finally:
        other.close()


# --- 13. /token protocol nits ------------------------------------------------------------------


def basic(client_id: str, secret: str) -> dict:
    value = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {value}"}


def test_basic_credentials_with_plus_for_a_space(token_app, server):
    spaced_secret = "a secret with spaces in it, 32 characters or more"
    create_client_application(token_app, "My App", spaced_secret)
    raw = mint(token_app, client_id="My App")
    form = {"grant_type": "refresh_token", "refresh_token": raw}
    encoded = spaced_secret.replace(" ", "+").replace(",", "%2C")
    status, _, body = post_token(server, form, headers=basic("My+App", encoded))
    assert status == 200, body
    assert body["as:client_id"] == "My App"


@pytest.mark.parametrize("value", ["Basic ", "Basic", "Basic !!!", "Basic " + "bm9jb2xvbg=="])
def test_an_empty_or_broken_basic_gets_401_with_www_authenticate(server, value):
    form = {"grant_type": "refresh_token", "refresh_token": "x"}
    status, headers, body = post_token(server, form, headers={"Authorization": value})
    assert (status, body["error"]) == (401, "invalid_client")
    assert headers["WWW-Authenticate"].startswith("Basic ")


@pytest.mark.parametrize("path", ["/token", "/Token"])
def test_options_on_token_is_json_with_allow(server, path):
    response = requests.options(server.url + path, timeout=30)
    assert response.status_code == 405
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Allow"] == "POST"
    assert response.json()["error"] == "invalid_request"


# --- 7. What a tester sees: refusals and throttling in the QA console's activity --------------


def test_refusals_and_throttling_show_in_the_activity_in_real_time_order(token_app, server):
    raw = mint(token_app)
    for _ in range(token_app.config["CLIENT_MAX_FAILURES"]):
        post_token(server, refresh(raw, secret="wrong"))
    assert_throttled(*post_token(server, refresh(raw)))
    token_app.config["THROTTLE_MAX_FAILURES"] = 2
    post_token(server, password("rjones", "wrong"))
    post_token(server, password("rjones", "wrong"))
    post_token(server, password("rjones", MEMBER_PASSWORD))  # locked: refused
    with token_app.test_request_context():
        clock.advance(-120)  # the QA clock moved back does not reorder the activity
    staff = staff_session(server)
    rows = [
        (row["action"], row["error"], row["client"], row["user"]) for row in activity(staff, server)
    ]
    refused = [row for row in rows if row[0] in ("oauth.token", "throttle.password")]
    limit = token_app.config["CLIENT_MAX_FAILURES"]
    assert refused[:limit] == [("oauth.token", "invalid_client", "MyApp", "")] * limit
    assert refused[limit] == ("oauth.token", "temporarily_unavailable", "MyApp", "")
    assert refused[limit + 1 : limit + 3] == [("oauth.token", "invalid_grant", "", "rjones")] * 2
    assert ("throttle.password", "throttled", "", "rjones") in refused[limit + 3 :]
    assert refused[-1] == ("oauth.token", "invalid_grant", "", "rjones")


def test_a_locked_out_address_gets_the_same_429_with_or_without_flask(token_app, server):
    """The fast path answers a locked-out guesser's password grant as Flask does (Basic goes to
    Flask)."""
    for index in range(token_app.config["ADDRESS_MAX_FAILURES"]):
        post_token(server, password(f"guess{index}", "wrong"))
    fast = post_token(server, password("jsmith", "wrong"))
    slow = post_token(server, password("jsmith", "wrong"), headers=basic("MyApp", SECRET))
    assert_throttled(*fast)
    assert_throttled(*slow)
    assert fast[2] == slow[2]
    assert [name for name, _ in fast[1].items() if name != "Date"] == [
        name for name, _ in slow[1].items() if name != "Date"
    ]


def lock_out_this_address(token_app, server) -> None:
    for index in range(token_app.config["ADDRESS_MAX_FAILURES"]):
        status, _, _ = post_token(server, password(f"guess{index}", "wrong"))
        assert status == 400


def test_a_locked_out_address_is_answered_after_a_pause(token_app, server, monkeypatch):
    """The tarpit: each 429 of an address that must wait (fast path, Flask's path, the sign-in
    page) pauses first, so a guesser's connections send little; other refusals do not."""
    token_app.config["ADDRESS_ANSWER_DELAY_SECONDS"] = 0.25
    paused = []
    monkeypatch.setattr(throttle, "sleep", paused.append)
    lock_out_this_address(token_app, server)
    assert paused == []  # the wrong passwords that were hashed were answered at once
    assert_throttled(*post_token(server, password("jsmith", "wrong")))
    assert_throttled(
        *post_token(server, password("jsmith", "wrong"), headers=basic("MyApp", SECRET))
    )
    page = requests.post(server.url + "/SignIn", data={"username": "jsmith", "password": "x"})
    assert page.status_code == 429
    assert paused == [0.25, 0.25, 0.25]
    # Another address is answered at once.
    status, _, _ = post_token(server, password("jsmith", MEMBER_PASSWORD), source=OTHER_ADDRESS)
    assert status == 200 and paused == [0.25, 0.25, 0.25]


def test_guessers_cannot_hold_more_threads_than_the_pause_slots(token_app, server, monkeypatch):
    """With every pause slot taken, a locked-out address is answered 429 at once."""
    token_app.config["ADDRESS_DELAY_SLOTS"] = 1
    lock_out_this_address(token_app, server)
    with one_request_held(server, password("a", "wrong"), throttle, "sleep", monkeypatch) as first:
        # The one slot is held: this guess is not paused (the held sleep would block it).
        assert_throttled(*post_token(server, password("b", "wrong")))
        assert first == []  # the first is still paused
    assert_throttled(*first[0])
