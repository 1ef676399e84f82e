"""Configuration layering, the generated secret key, and SQLite connection settings."""

from pathlib import Path

import pytest
from sqlalchemy import text

from imis_mock import create_app
from imis_mock.extensions import db


def test_layers_defaults_instance_env_test(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("IMIS_INSTANCE_PATH", str(tmp_path))
    (tmp_path / "config.py").write_text(
        "SESSION_IDLE_MINUTES = 45\nMAX_CONTENT_LENGTH = 1000\nPASSWORD_HASH_METHOD = 'x'\n"
    )
    monkeypatch.setenv("FLASK_MAX_CONTENT_LENGTH", "2000")
    monkeypatch.setenv("FLASK_PASSWORD_HASH_METHOD", "from-env")
    app = create_app({"PASSWORD_HASH_METHOD": "from-test"})
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True  # default
    assert app.config["SESSION_IDLE_MINUTES"] == 45  # instance/config.py over the default
    assert app.config["MAX_CONTENT_LENGTH"] == 2000  # FLASK_* over instance/config.py
    assert app.config["PASSWORD_HASH_METHOD"] == "from-test"  # test mapping over everything


def test_database_uri_from_environment(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("IMIS_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("FLASK_SQLALCHEMY_DATABASE_URI", f"sqlite:///{tmp_path}/other.db")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("/other.db")


def test_default_database_is_in_instance(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("IMIS_INSTANCE_PATH", str(tmp_path))
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/imis.db"


def test_secret_key_generated_once_and_kept(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("IMIS_INSTANCE_PATH", str(tmp_path))
    first = create_app().config["SECRET_KEY"]
    second = create_app().config["SECRET_KEY"]
    assert first == second
    assert len(first) >= 64
    assert (tmp_path / "secret_key").read_text().strip() == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_https_makes_cookies_secure(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("IMIS_INSTANCE_PATH", str(tmp_path))
    app = create_app({"PREFERRED_URL_SCHEME": "https"})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert create_app().config["SESSION_COOKIE_SECURE"] is False


@pytest.mark.database("sqlite", reason="PRAGMAs are SQLite's")
def test_sqlite_connections_use_wal_and_busy_timeout(app):
    with app.app_context():
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql://u:p@db:5432/imis", "postgresql+psycopg://u:p@db:5432/imis"),
        ("postgres://u:p@db/imis", "postgresql+psycopg://u:p@db/imis"),
        ("postgresql+psycopg://u:p@db/imis", "postgresql+psycopg://u:p@db/imis"),
    ],
)
def test_postgresql_uri_uses_psycopg_3(tmp_path: Path, monkeypatch, given, used):
    monkeypatch.setenv("IMIS_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("FLASK_SQLALCHEMY_DATABASE_URI", given)
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == used
    # A pooled connection the server has dropped is replaced before a request uses it.
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True
    with app.app_context():
        assert db.engine.dialect.driver == "psycopg"


def test_engine_options_from_config_win(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("IMIS_INSTANCE_PATH", str(tmp_path))
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": "postgresql://u:p@db/imis",
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": False, "pool_size": 3},
        }
    )
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_pre_ping": False, "pool_size": 3}
    sqlite_app = create_app()
    assert "pool_pre_ping" not in sqlite_app.config["SQLALCHEMY_ENGINE_OPTIONS"]


def test_worker_pid_header_only_when_asked_for(tmp_path: Path, monkeypatch):
    import os

    monkeypatch.setenv("IMIS_INSTANCE_PATH", str(tmp_path))
    quiet = create_app({"SECRET_KEY": "x"}).test_client().get("/static/css/site.css")
    quiet.close()
    assert "X-Worker-PID" not in quiet.headers  # off by default: real iMIS sends no such header
    monkeypatch.setenv("FLASK_EXPOSE_WORKER_PID", "true")
    told = create_app({"SECRET_KEY": "x"}).test_client().get("/static/css/site.css")
    told.close()
    assert told.headers["X-Worker-PID"] == str(os.getpid())
