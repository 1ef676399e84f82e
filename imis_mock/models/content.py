"""Content folders, content records (iMIS "Website Content") and the content items on them.

A record keeps a working copy (edited with Save) and a published copy (made by Save & Publish):
the published title, access properties and items are what members see. Items carry a
`published` flag: draft items are the working copy, published items a snapshot of it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from imis_mock.models.base import Base, UTCDateTime, utcnow
from imis_mock.models.oauth import ClientApplication

# Content item kinds, as the "Add content" picker names them.
SSO = "sso"
CONTACT_SIGN_IN = "contact_sign_in"
CONTENT_HTML = "content_html"


class ContentFolder(Base):
    """A folder in Manage content. Its name is one segment of its records' published URLs."""

    __tablename__ = "content_folders"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # Lower-cased name: unique among siblings regardless of letter case (checked in the service,
    # since SQL treats the NULL parent of top-level folders as distinct).
    name_key: Mapped[str] = mapped_column(String(100), index=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("content_folders.id", ondelete="RESTRICT"), index=True, default=None
    )
    # Every record in a secure folder (or below it) is secure.
    is_secure: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped[ContentFolder | None] = relationship(remote_side=[id])


class ContentRecord(Base):
    """A Website Content record, published at /{folder path}/{Publish file name}.aspx."""

    __tablename__ = "content_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    publish_file_name: Mapped[str] = mapped_column(String(100))
    # Lower-cased "folder/path/publish_file_name": the published URL, unique, looked up directly.
    path_key: Mapped[str] = mapped_column(String(1000), unique=True)
    folder_id: Mapped[int | None] = mapped_column(
        ForeignKey("content_folders.id", ondelete="RESTRICT"), index=True, default=None
    )
    is_secure: Mapped[bool] = mapped_column(Boolean, default=False)
    requires_login: Mapped[bool] = mapped_column(Boolean, default=False)
    # The published copy; published_at is None until the first Save & Publish.
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    published_title: Mapped[str] = mapped_column(String(200), default="")
    published_is_secure: Mapped[bool] = mapped_column(Boolean, default=False)
    published_requires_login: Mapped[bool] = mapped_column(Boolean, default=False)
    has_unpublished_changes: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(60), default="")
    updated_by: Mapped[str] = mapped_column(String(60), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    folder: Mapped[ContentFolder | None] = relationship()
    items: Mapped[list[ContentItem]] = relationship(
        back_populates="record",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ContentItem.position",
    )

    @property
    def draft_items(self) -> list[ContentItem]:
        return [item for item in self.items if not item.published]

    @property
    def published_items(self) -> list[ContentItem]:
        return [item for item in self.items if item.published]

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class ContentItem(Base):
    """A content item on a record: Single Sign-On, Contact Sign In or Content Html."""

    __tablename__ = "content_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(
        ForeignKey("content_records.id", ondelete="CASCADE"), index=True
    )
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    # Single Sign-On only. Deleting the client application leaves the item pointing at nothing.
    client_application_id: Mapped[int | None] = mapped_column(
        ForeignKey("client_applications.id", ondelete="SET NULL"), index=True, default=None
    )
    # Content Html only, already sanitised.
    html: Mapped[str] = mapped_column(Text, default="")

    record: Mapped[ContentRecord] = relationship(back_populates="items")
    client_application: Mapped[ClientApplication | None] = relationship()
