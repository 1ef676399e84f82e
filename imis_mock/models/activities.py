"""Activity: iMIS's history of what happened to a party (dues paid, an event attended, a course
completed in a learning system), one row per event, as in iMIS's Activity table."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from imis_mock.models.base import Base, UTCDateTime, utcnow
from imis_mock.models.contacts import Contact


class Hundredths(TypeDecorator):
    """A Decimal with two places (iMIS numeric(15,2)), stored as a whole number of hundredths.

    SQLite has no decimal type (SQLAlchemy warns and rounds through float); an integer compares
    and sums exactly on every database. Comparisons with literals go through the same conversion.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | int | None, dialect) -> int | None:
        if value is None:
            return None
        return int((Decimal(value) * 100).to_integral_value())

    def process_result_value(self, value: int | None, dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(value).scaleb(-2)


class Activity(Base):
    """One activity of a party. `id` is iMIS's SEQN, the ActivityId the API shows.

    The dates are naive, as iMIS stores them: a business date in the association's own time, not
    an instant (an LMS writes the day a course was completed).
    """

    __tablename__ = "activities"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    # iMIS ACTIVITY_TYPE, varchar(10): DUES, MEETING, ORDER, COURSE, ...
    activity_type: Mapped[str] = mapped_column(String(10))
    effective_date: Mapped[datetime] = mapped_column(DateTime)
    thru_date: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    transaction_date: Mapped[datetime] = mapped_column(DateTime)
    description: Mapped[str] = mapped_column(String(255), default="")
    # Which system wrote the row (iMIS SOURCE_SYSTEM), e.g. "LMS" for a learning system.
    source_system: Mapped[str] = mapped_column(String(10), default="")
    source_code: Mapped[str] = mapped_column(String(40), default="")
    product_code: Mapped[str] = mapped_column(String(31), default="")
    other_code: Mapped[str] = mapped_column(String(40), default="")
    category: Mapped[str] = mapped_column(String(15), default="")
    units: Mapped[Decimal | None] = mapped_column(Hundredths, default=None)
    amount: Mapped[Decimal | None] = mapped_column(Hundredths, default=None)
    note: Mapped[str] = mapped_column(Text, default="")
    recurring_request: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    contact: Mapped[Contact] = relationship()

    __table_args__ = (
        # A party's history by date (the Activities tab, ?PartyId=), and every party's activity
        # since a date (a sync client's ?EFFECTIVE_DATE=ge:...).
        Index("ix_activities_contact_id_effective_date", "contact_id", "effective_date"),
        Index("ix_activities_effective_date", "effective_date"),
    )
