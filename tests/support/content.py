"""Content records, folders and client applications made through services, for the content tests."""

from flask import Flask
from sqlalchemy import func, select

from imis_mock.extensions import db
from imis_mock.models import AuditEvent, ContentRecord
from imis_mock.services import content
from tests.support.data import create_client_application

EDITOR = "/staff/RiSE/PageBuilder/ManageContent"


def add_client_application(app: Flask, client_id: str) -> int:
    """Insert a client application as issue 3's screen would; return its row id."""
    return create_client_application(app, client_id, "x", redirect_url="http://localhost:5001/sso")


def make_folder(app: Flask, *names: str, secure: bool = False) -> int:
    """Create nested folders (each under the one before); return the last one's id."""
    with app.app_context():
        parent = None
        for name in names:
            parent = content.create_folder(name, parent, is_secure=secure, actor="MANAGER")
        db.session.commit()
        return parent.id


def make_record(
    app: Flask,
    title: str,
    name: str,
    *,
    folder_id: int | None = None,
    items: tuple = (),
    publish: bool = True,
    secure: bool = False,
    login: bool = False,
) -> int:
    """Create a record with items, e.g. items=(("content_html", "Text", {"html": "<p>x</p>"}),)."""
    with app.app_context():
        record = content.create_record(title, name, content.get_folder(folder_id), actor="MANAGER")
        for kind, item_name, fields in items:
            content.add_item(record, kind, name=item_name, **fields)
        record.is_secure = secure
        record.requires_login = login
        if publish:
            content.publish_record(record, actor="MANAGER")
        db.session.commit()
        return record.id


def html_item(html: str, name: str = "Text") -> tuple:
    return (content.CONTENT_HTML, name, {"html": html})


def sso(client_pk: int, name: str = "SSO") -> tuple:
    return (content.SSO, name, {"client_application_id": client_pk})


def count_records(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(ContentRecord.id)))


def audit_actions(app: Flask, action: str) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(
            select(AuditEvent.outcome, AuditEvent.actor)
            .where(AuditEvent.action == action)
            .order_by(AuditEvent.id)
        )
        return [tuple(row) for row in rows]
