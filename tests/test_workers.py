"""Two server workers: a session, a token, the throttling counter, the clock and the fault
counters each work whichever worker answers.

serve.py runs as `make run` runs it (granian, 2 workers). Which worker takes a new connection is
the kernel's choice: an idle server hands a lone request to the same worker again and again, but
parallel requests spread over both. So each check sends its requests in parallel bursts, every
request on a new connection, and reads the test-only X-Worker-PID header (EXPOSE_WORKER_PID) of
each answer; it repeats the burst (a bounded number of times) until both workers have answered.
"""

import threading
from collections.abc import Callable, Iterator

import pytest
import requests
from sqlalchemy import delete, select

from imis_mock.extensions import db
from imis_mock.models import SignInThrottle
from imis_mock.services import clients, clock, demo, qa, throttle
from sample_app import DEFAULTS as SAMPLE_APP
from tests.support.apps import TEST_SECRET, csrf_token_from
from tests.support.data import MEMBER_PASSWORD
from tests.support.load import REQUEST_TIMEOUT, USER_INFO, mock_server, worker_pid

pytestmark = pytest.mark.load

BURST = 8  # parallel requests per burst
ROUNDS = 30  # bursts at most, before the test gives up on seeing both workers
SAMPLE_CREDENTIALS = {
    "client_id": SAMPLE_APP["SAMPLE_CLIENT_ID"],
    "client_secret": SAMPLE_APP["SAMPLE_CLIENT_SECRET"],
}
WRONG_PASSWORD = {
    "error": "invalid_grant",
    "error_description": "The user name or password is incorrect.",
}
SIGN_IN_FAILED = "The username or password you entered is incorrect."

Send = Callable[[], requests.Response]


def burst(send: Send, count: int = BURST) -> list[requests.Response]:
    """Call `send` from `count` threads at once; return the answers."""
    start = threading.Barrier(count)
    answers: list[requests.Response] = []

    def run() -> None:
        start.wait()
        answers.append(send())

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == count
    return answers


def on_both_workers(send: Send) -> list[requests.Response]:
    """Send a repeatable request in bursts until both workers answered it; return every answer."""
    answers: list[requests.Response] = []
    for _ in range(ROUNDS):
        answers += burst(send)
        if len({worker_pid(answer) for answer in answers}) == 2:
            return answers
    pytest.fail(f"{ROUNDS} bursts of {BURST} requests all went to one worker")


class Mock:
    """The mock under serve.py; every request on a new connection (no requests.Session)."""

    def __init__(self, url: str):
        self.url = url

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.url + path, timeout=REQUEST_TIMEOUT, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return requests.post(self.url + path, timeout=REQUEST_TIMEOUT, **kwargs)

    def sign_in(self, username: str, password: str) -> tuple[requests.Response, dict]:
        """Post the member Sign In form (with its CSRF token); return the answer and cookies."""
        page = self.get("/SignIn")
        data = {
            "username": username,
            "password": password,
            "csrf_token": csrf_token_from(page.text),
        }
        answer = self.post("/SignIn", data=data, cookies=page.cookies, allow_redirects=False)
        return answer, {**page.cookies.get_dict(), **answer.cookies.get_dict()}

    def token(self, **form: str) -> requests.Response:
        return self.post("/token", data=form)

    def user_info(self, access_token: str) -> requests.Response:
        return self.get(USER_INFO, headers={"Authorization": f"Bearer {access_token}"})


@pytest.fixture
def mock(app, instance, tmp_path) -> Iterator[Mock]:
    with app.app_context():
        demo.load_sample_app()
        db.session.commit()
    # No FLASK_SECRET_KEY: every worker reads instance/secret_key (here the tests' key, which
    # the client secrets stored above were hashed with).
    (instance / "secret_key").write_text(TEST_SECRET)
    # Room in the hashing pool for a burst of 5: these tests are about the shared counters.
    env = {"FLASK_SECRET_KEY": "", "FLASK_HASH_CONCURRENCY": "8"}
    with mock_server(instance, tmp_path / "server.log", **env) as server:
        yield Mock(server.url)


def clear_throttle(app, username: str) -> None:
    """Forget the username's failures, and this client address's: a test that needs several
    bursts to reach both workers must not lock the address out (ADDRESS_MAX_FAILURES) first."""
    keys = (throttle.user_key(username), throttle.address_key("127.0.0.1"))
    with app.app_context():
        db.session.execute(delete(SignInThrottle).where(SignInThrottle.username_key.in_(keys)))
        db.session.commit()


def lock_out_on_both_workers(app, username: str, attempt: Send) -> list[requests.Response]:
    """Make exactly 5 failed attempts at once, answered by both workers; return the answers."""
    for _ in range(ROUNDS):
        clear_throttle(app, username)
        answers = burst(attempt, 5)
        if len({worker_pid(answer) for answer in answers}) == 2:
            return answers
    pytest.fail(f"{ROUNDS} bursts of 5 attempts all went to one worker")


def test_a_signed_in_session_works_on_both_workers(mock):
    answer, cookies = mock.sign_in("jsmith", MEMBER_PASSWORD)
    assert answer.status_code == 303
    for page in on_both_workers(lambda: mock.get("/MyAccount", cookies=cookies)):
        assert page.status_code == 200 and "Jane Smith" in page.text, page.text
    # Signing out on one worker ends the session on both: the old cookie no longer works.
    home = mock.get("/", cookies=cookies)
    cookies.update(home.cookies.get_dict())  # the page's CSRF token came with a new cookie
    form = {"csrf_token": csrf_token_from(home.text)}
    signed_out = mock.post("/SignOut", data=form, cookies=cookies, allow_redirects=False)
    assert signed_out.status_code == 303  # and the session row is gone
    send = lambda: mock.get("/MyAccount", cookies=cookies, allow_redirects=False)  # noqa: E731
    for page in on_both_workers(send):
        assert page.status_code == 302 and "/SignIn" in page.headers["Location"]


def test_a_token_minted_on_one_worker_works_on_both(mock):
    _, cookies = mock.sign_in("jsmith", MEMBER_PASSWORD)
    handoff = mock.get("/SampleApp.aspx", cookies=cookies)  # the hand-off mints a refresh token
    refresh_token = handoff.text.split('name="refresh_token" value="')[1].split('"')[0]
    grant = {"grant_type": "refresh_token", "refresh_token": refresh_token, **SAMPLE_CREDENTIALS}
    answers = on_both_workers(lambda: mock.token(**grant))
    assert {answer.status_code for answer in answers} == {200}
    access_token = answers[0].json()["access_token"]
    for answer in on_both_workers(lambda: mock.user_info(access_token)):
        assert answer.status_code == 200 and '"username":"jsmith"' in answer.text


def test_password_grant_throttling_is_shared_by_the_workers(mock, app):
    def attempt(password: str) -> Send:
        grant = {"grant_type": "password", "username": "rjones", "password": password}
        return lambda: mock.token(**grant)

    for answer in lock_out_on_both_workers(app, "rjones", attempt("not-the-password")):
        assert (answer.status_code, answer.json()) == (400, WRONG_PASSWORD)
    # Locked on every worker: the right password gets the very same answer.
    for answer in on_both_workers(attempt(MEMBER_PASSWORD)):
        assert (answer.status_code, answer.json()) == (400, WRONG_PASSWORD)
    with app.app_context():
        key = SignInThrottle.username_key == "rjones"
        assert db.session.scalar(select(SignInThrottle.locked_until).where(key)) is not None
    other = {"grant_type": "password", "username": "apatel", "password": MEMBER_PASSWORD}
    assert mock.token(**other).status_code == 200  # another member is not affected


def test_sign_in_page_throttling_is_shared_by_the_workers(mock, app):
    page = mock.get("/SignIn")
    token, cookies = csrf_token_from(page.text), page.cookies.get_dict()

    def attempt(password: str) -> Send:
        data = {"username": "mchen", "password": password, "csrf_token": token}
        return lambda: mock.post("/SignIn", data=data, cookies=cookies, allow_redirects=False)

    for answer in lock_out_on_both_workers(app, "mchen", attempt("not-the-password")):
        assert answer.status_code == 200 and SIGN_IN_FAILED in answer.text
    for answer in on_both_workers(attempt(MEMBER_PASSWORD)):
        assert answer.status_code == 200 and SIGN_IN_FAILED in answer.text


def test_fault_counter_is_shared_by_the_workers(mock, app):
    grant = {"grant_type": "password", "username": "jsmith", "password": MEMBER_PASSWORD}
    for _ in range(ROUNDS):
        with app.app_context():
            client = clients.find_client(SAMPLE_APP["SAMPLE_CLIENT_ID"])
            qa.set_fault(client, "invalid_grant", count=3, actor="MANAGER")
        answers = burst(lambda: mock.token(**grant, **SAMPLE_CREDENTIALS), 6)
        faulted = [answer for answer in answers if answer.status_code == 400]
        # Exactly the armed 3. Counters kept per process would let more through once both
        # workers answer: each would count its own 3.
        assert len(faulted) == 3 and all(a.json()["error"] == "invalid_grant" for a in faulted)
        if len({worker_pid(answer) for answer in answers}) == 2:
            return
    pytest.fail(f"{ROUNDS} bursts of 6 requests all went to one worker")


def test_clock_is_shared_by_the_workers(mock, app):
    grant = {"grant_type": "password", "username": "jsmith", "password": MEMBER_PASSWORD}
    access_token = mock.token(**grant).json()["access_token"]
    assert {a.status_code for a in on_both_workers(lambda: mock.user_info(access_token))} == {200}
    with app.test_request_context():
        clock.advance(21)  # past the access token's 20 minutes
    assert {a.status_code for a in on_both_workers(lambda: mock.user_info(access_token))} == {401}
