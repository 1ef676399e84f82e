"""Failed sign-in counters, shared by every worker through the database."""

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from imis_mock.models.base import Base, UTCDateTime


class SignInThrottle(Base):
    """Failures for one key (a username in any letter case, known or not; an address; a client
    id from an address) within the current window, and its attempts still in flight."""

    __tablename__ = "sign_in_throttle"

    username_key: Mapped[str] = mapped_column(String(60), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    pending: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
