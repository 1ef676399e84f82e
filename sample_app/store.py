"""Server-side storage for the tokens of each signed-in browser (SQLite, from the standard library).

The browser's cookie holds only a random session id; the tokens never reach the browser.
"""

import sqlite3
import time
from dataclasses import dataclass

from flask import Flask, current_app, g

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    access_token TEXT NOT NULL,
    refresh_token TEXT NOT NULL,
    access_expires_at REAL NOT NULL,
    user_name TEXT NOT NULL,
    created_at REAL NOT NULL
)
"""


@dataclass
class Tokens:
    access_token: str
    refresh_token: str
    access_expires_at: float  # seconds since the epoch
    user_name: str


def _db() -> sqlite3.Connection:
    if "sample_db" not in g:
        g.sample_db = sqlite3.connect(current_app.config["SAMPLE_DATABASE"], timeout=10)
        g.sample_db.execute("PRAGMA journal_mode = WAL")
    return g.sample_db


def _close(exc: BaseException | None) -> None:
    conn = g.pop("sample_db", None)
    if conn is not None:
        conn.close()


def init_app(app: Flask) -> None:
    with sqlite3.connect(app.config["SAMPLE_DATABASE"]) as conn:
        conn.execute(SCHEMA)
    app.teardown_appcontext(_close)


def save(session_id: str, tokens: Tokens) -> None:
    with _db() as conn:
        conn.execute(
            "INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?, ?, ?)",
            (
                session_id,
                tokens.access_token,
                tokens.refresh_token,
                tokens.access_expires_at,
                tokens.user_name,
                time.time(),
            ),
        )


def load(session_id: str) -> Tokens | None:
    row = (
        _db()
        .execute(
            "SELECT access_token, refresh_token, access_expires_at, user_name"
            " FROM sessions WHERE id = ?",
            (session_id,),
        )
        .fetchone()
    )
    return Tokens(*row) if row else None


def delete(session_id: str) -> None:
    with _db() as conn:
        conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
