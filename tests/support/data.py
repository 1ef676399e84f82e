"""Test data written and read directly: demo passwords, members, client applications, all rows."""

from flask import Flask
from sqlalchemy import MetaData, select

from imis_mock.extensions import db
from imis_mock.models import ClientApplication
from imis_mock.services import accounts, secrets

# The demo's passwords (imis_mock/scenarios/demo.yaml; README.md lists them).
MEMBER_PASSWORD = "Member-Demo-2026"
STAFF_PASSWORD = "Staff-Demo-2026"


def database_dump(app: Flask) -> str:
    """Return every row of every table as text, to check what is (not) stored, on any database."""
    with app.app_context():
        metadata = MetaData()
        metadata.reflect(db.engine)
        with db.engine.connect() as conn:
            return "\n".join(
                f"{table.name}: {tuple(row)}"
                for table in metadata.sorted_tables
                for row in conn.execute(select(table))
            )


def create_member(app: Flask, username: str, **fields) -> None:
    """Create a user (a member unless staff=True) with the demo member password by default."""
    with app.app_context():
        accounts.create_user(
            username,
            fields.pop("password", MEMBER_PASSWORD),
            staff=fields.pop("staff", False),
            first_name=fields.pop("first_name", "Test"),
            last_name=fields.pop("last_name", "Member"),
            **fields,
        )
        db.session.commit()


def create_client_application(
    app: Flask,
    client_id: str = "MyApp",
    secret: str = "MyApp-secret-1-Zq7Lm3Vx9Rt2Wp8Kc",
    *,
    lifetime: int = 30,
    redirect_url: str = "https://app.example.com/sso",
) -> int:
    """Register a client application directly (the staff screen is tested on its own).

    Return its row id.
    """
    with app.app_context():
        client = ClientApplication(
            client_id=client_id,
            client_id_key=client_id.lower(),
            secret_hash=secrets.client_secret_hash(secret),
            refresh_token_lifetime=lifetime,
            redirect_url=redirect_url,
        )
        db.session.add(client)
        db.session.commit()
        return client.id
