"""BusinessRecord: the long tail of iMIS's business objects (events, commerce, communications,
fundraising, notes, lookups), stored as the data contract iMIS sends, one row per record.

Why one document table instead of a table per contract: iMIS publishes some sixty contracts
whose shapes clients read back verbatim (EventData, InvoiceData, CommunicationData ...), and
the mock's job is to hand back what was written. The columns the rules need are typed and
indexed (the entity, the URL id, the owning contact, the parent record, a status); the rest is
the contract as JSON. A family that grows real rules moves to its own typed table.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from imis_mock.models.base import Base, UTCDateTime, utcnow
from imis_mock.models.contacts import Contact


class BusinessRecord(Base):
    """One record of a catalog entity served from JSON (see api/catalog/records.py)."""

    __tablename__ = "business_records"
    __table_args__ = (
        UniqueConstraint("entity", "key"),
        Index("ix_business_records_entity_parent", "entity", "parent_key"),
        Index("ix_business_records_contact", "contact_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The catalog entry's name ("Event", "EventRegistration", "Invoice" ...).
    entity: Mapped[str] = mapped_column(String(60))
    # The URL id as iMIS writes it: "ANNCONF", "ANNCONF-147", "REGULAR_MEMBERSHIP_FEES/ACT",
    # "~101|ADDLCHARGES/FREIGHT"; stored in the case it was first written.
    key: Mapped[str] = mapped_column(String(200))
    # The record this one belongs to (a registration's event, a function's event), or "".
    parent_key: Mapped[str] = mapped_column(String(200), default="")
    # The contact the record is about (registrant, invoice's bill-to, note's party), or None for
    # shared data. A member's token reads only their own rows of party-owned entities.
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), default=None
    )
    # A short status the rules and staff pages read ("A", "Closed", "1" ...).
    status: Mapped[str] = mapped_column(String(20), default="")
    data: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    contact: Mapped[Contact | None] = relationship()
