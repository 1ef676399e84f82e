"""Fault injection for the QA console: make /token misbehave on purpose for one client."""

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from imis_mock.models.base import Base, UTCDateTime, utcnow
from imis_mock.models.oauth import ClientApplication

FAULT_MODES = {
    "invalid_grant": "Answer invalid_grant",
    "invalid_client": "Answer invalid_client",
    "http_500": "Answer HTTP 500",
    "delay": "Delay the answer",
}


class ClientFault(Base):
    """A fault armed for a client application's /token requests."""

    __tablename__ = "client_faults"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_application_id: Mapped[int] = mapped_column(
        ForeignKey("client_applications.id", ondelete="CASCADE"), unique=True
    )
    mode: Mapped[str] = mapped_column(String(20))
    delay_seconds: Mapped[int] = mapped_column(Integer, default=0)
    # How many more requests it applies to; None means until it is turned off.
    remaining: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    client: Mapped[ClientApplication] = relationship()
