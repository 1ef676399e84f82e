"""flask --app app init-db | load-demo | create-user, with good and bad input."""

from pathlib import Path

import pytest
from sqlalchemy import func, select

from imis_mock.extensions import db
from imis_mock.models import User
from imis_mock.services import accounts
from tests.support.apps import make_app


def count_users(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(User.id)))


def test_init_db_on_an_empty_database(tmp_path: Path, monkeypatch):
    app = make_app(tmp_path, monkeypatch)
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        guest = accounts.get_user("GUEST")
        assert guest is not None and guest.is_guest and guest.password_hash is None
    # Running it again is harmless.
    assert app.test_cli_runner().invoke(args=["init-db"]).exit_code == 0
    assert count_users(app) == 1


def test_load_demo_is_idempotent(tmp_path: Path, monkeypatch):
    app = make_app(tmp_path, monkeypatch)
    runner = app.test_cli_runner()
    runner.invoke(args=["init-db"])
    assert runner.invoke(args=["load-demo"]).exit_code == 0
    after_first = count_users(app)
    assert after_first >= 5
    result = runner.invoke(args=["load-demo"])
    assert result.exit_code == 0
    assert "0 new accounts" in result.output
    assert count_users(app) == after_first
    with app.app_context():
        assert accounts.get_user("MANAGER").is_staff
        assert accounts.get_user("jsmith").contact.imis_id == "23179"


def test_load_demo_if_empty_skips_a_used_database(app, runner):
    with app.app_context():
        db.session.delete(accounts.get_user("rjones"))
        db.session.commit()
    result = runner.invoke(args=["load-demo", "--if-empty"])
    assert "not loaded" in result.output
    with app.app_context():
        assert accounts.get_user("rjones") is None


def test_create_user_with_password_on_stdin(app, runner):
    result = runner.invoke(
        args=[
            "create-user",
            "newbie",
            "--member",
            "--first-name",
            "New",
            "--last-name",
            "Bie",
            "--email",
            "new@example.org",
            "--password-stdin",
        ],
        input="s3cret-pass\n",
    )
    assert result.exit_code == 0, result.output
    assert "newbie" in result.output
    with app.app_context():
        user = accounts.authenticate("newbie", "s3cret-pass")
        assert user is not None and not user.is_staff
        assert user.contact.email == "new@example.org"
        assert user.contact.imis_id.isdigit()
        assert user.password_hash != "s3cret-pass"


def test_create_staff_user_with_prompt(app, runner):
    result = runner.invoke(
        args=["create-user", "boss", "--staff", "--first-name", "B", "--last-name", "Oss"],
        input="pw-one\npw-one\n",
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert accounts.authenticate("boss", "pw-one", staff_only=True) is not None


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["create-user", "JSMITH", "--member"], "x-pass\n", "already taken"),
        (["create-user", "empty", "--member"], "\n", "Enter a password"),
        (["create-user", "norole"], "x-pass\n", "--staff or --member"),
        (["create-user", "bad", "--member", "--colour", "red"], "x\n", "No such option"),
        (["create-user", "with space", "--member"], "x-pass\n", "cannot contain spaces"),
    ],
)
def test_create_user_bad_input(app, runner, args, stdin, message):
    before = count_users(app)
    full = [*args, "--first-name", "A", "--last-name", "B", "--password-stdin"]
    result = runner.invoke(args=full, input=stdin)
    assert result.exit_code != 0
    assert message in result.output
    assert count_users(app) == before
