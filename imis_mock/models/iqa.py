"""What staff define in RiSE: IQA folders and queries, and panel sources with their rows.

A query's columns, filters and sorting, and a panel's properties, are small ordered lists kept
as JSON on their row: they are read and saved whole, as iMIS keeps a query in one document.
Panel rows keep their values as JSON too, one key per property, so a new property needs no
schema change; filters reach into it with SQLAlchemy's JSON operators on every database.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from imis_mock.models.base import Base, UTCDateTime, utcnow
from imis_mock.models.contacts import Contact


class IqaFolder(Base):
    """A folder of queries, written as its path: `$/Common`, `$/OAuth2`, `$/Sites/Members`."""

    __tablename__ = "iqa_folders"

    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(String(200), unique=True)


class IqaQuery(Base):
    """One IQA query: a source, display columns with aliases, filters (values or prompts),
    sorting, and the document version key iMIS gives every document."""

    __tablename__ = "iqa_queries"
    __table_args__ = (UniqueConstraint("folder_id", "name_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    folder_id: Mapped[int] = mapped_column(ForeignKey("iqa_folders.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    # The lower-cased name: names are unique in a folder regardless of case, as paths match.
    name_key: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(100))
    # [{"property", "alias"}]
    columns: Mapped[list] = mapped_column(JSON, default=list)
    # [{"property", "operator", "value", "prompt", "required"}]
    filters: Mapped[list] = mapped_column(JSON, default=list)
    # [{"property", "descending"}]
    sorting: Mapped[list] = mapped_column(JSON, default=list)
    staff_only: Mapped[bool] = mapped_column(Boolean, default=False)
    document_key: Mapped[str] = mapped_column(String(36), unique=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    folder: Mapped[IqaFolder] = relationship(lazy="joined")

    @property
    def path(self) -> str:
        return f"{self.folder.path}/{self.name}"


class PanelSource(Base):
    """A panel source (a custom table): its name is its API entity, `/api/{name}`."""

    __tablename__ = "panel_sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    name_key: Mapped[str] = mapped_column(String(60), unique=True)
    # "Party" or "Standalone"
    parent: Mapped[str] = mapped_column(String(20), default="Party")
    multi_instance: Mapped[bool] = mapped_column(Boolean, default=False)
    # [{"name", "type", "values"}]: type text, integer, decimal, yesno, date, list
    properties: Mapped[list] = mapped_column(JSON, default=list)
    # PUT's status: 201 where clients expect it of custom panels (reference §3.1), else 200.
    replace_status: Mapped[int] = mapped_column(Integer, default=201)
    # Bumped on every save, so the API's catalog entry for the panel is rebuilt.
    revision: Mapped[int] = mapped_column(Integer, default=1)


class PanelRow(Base):
    """One row of a panel source: the party it belongs to (none when standalone) and its SEQN."""

    __tablename__ = "panel_rows"
    __table_args__ = (
        UniqueConstraint("source_id", "contact_id", "seqn"),
        Index("ix_panel_rows_source_seqn", "source_id", "seqn"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("panel_sources.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), default=None, index=True
    )
    seqn: Mapped[int] = mapped_column(Integer, default=1)
    data: Mapped[dict] = mapped_column(JSON, default=dict)

    contact: Mapped[Contact | None] = relationship()
