"""The audit trail that every feature writes to. It never holds a secret or a whole token."""

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from imis_mock.models.base import Base, UTCDateTime


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed: `at`, which the QA console orders by, and `client_id`, its equality filter. Not
    # `action`, filtered with LIKE prefixes, which neither SQLite nor PostgreSQL answers from a
    # plain index. The busiest events (each /token success and API call) are written in batches
    # (services/audit.py), so each index costs them little.
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(60), default="")  # username, or "" for anonymous
    action: Mapped[str] = mapped_column(String(60))  # e.g. "member.sign_in"
    outcome: Mapped[str] = mapped_column(String(20))  # "success" or "failure"
    client_id: Mapped[str] = mapped_column(String(50), default="", index=True)
    username: Mapped[str] = mapped_column(String(60), default="")  # whom it concerned
    error_code: Mapped[str] = mapped_column(String(40), default="")
    ip: Mapped[str] = mapped_column(String(45), default="")
    detail: Mapped[str] = mapped_column(Text, default="")  # JSON, secrets masked
