"""The audit trail that every feature writes to. It never holds a secret or a whole token."""

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from imis_mock.models.base import Base, UTCDateTime


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    # No index on `at` or `action`: every event is an insert on a hot path (each /token request and
    # API call) and pays for each index, while the one reader (QA activity) orders by id and
    # filters `action` with LIKE prefixes, which neither SQLite nor PostgreSQL answers from a
    # plain index. `client_id` keeps its index for the QA console's equality filter.
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(60), default="")  # username, or "" for anonymous
    action: Mapped[str] = mapped_column(String(60))  # e.g. "member.sign_in"
    outcome: Mapped[str] = mapped_column(String(20))  # "success" or "failure"
    client_id: Mapped[str] = mapped_column(String(50), default="", index=True)
    username: Mapped[str] = mapped_column(String(60), default="")  # whom it concerned
    error_code: Mapped[str] = mapped_column(String(40), default="")
    ip: Mapped[str] = mapped_column(String(45), default="")
    detail: Mapped[str] = mapped_column(Text, default="")  # JSON, secrets masked
