"""Client applications and the OAuth 2 tokens issued for them. Secrets and tokens: hashes only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from imis_mock.models.base import Base, UTCDateTime, utcnow
from imis_mock.models.contacts import User


class ClientApplication(Base):
    """A third-party application registered under RiSE > Maintenance > Client applications."""

    __tablename__ = "client_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(50))
    # Lower-cased Client ID: unique regardless of letter case.
    client_id_key: Mapped[str] = mapped_column(String(50), unique=True)
    # HMAC-SHA256 of the secret under a key derived from SECRET_KEY (see services.secrets).
    secret_hash: Mapped[str] = mapped_column(String(64))
    refresh_token_lifetime: Mapped[int] = mapped_column(Integer, default=30)  # minutes, 1..60
    redirect_url: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    refresh_tokens: Mapped[list[RefreshToken]] = relationship(
        back_populates="client", cascade="all, delete-orphan", passive_deletes=True
    )
    access_tokens: Mapped[list[AccessToken]] = relationship(
        back_populates="client", cascade="all, delete-orphan", passive_deletes=True
    )


class RefreshToken(Base):
    """A refresh token: minted by the SSO hand-off (or a refresh), redeemed at /token."""

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 hex
    # Indexed for the cascades (a client or user deleted) and the staff and QA actions on a
    # client's tokens (migration 0009).
    client_application_id: Mapped[int] = mapped_column(
        ForeignKey("client_applications.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Tokens minted from one hand-off share a family, so strict rotation can revoke them together.
    family: Mapped[str] = mapped_column(String(32), index=True)
    source: Mapped[str] = mapped_column(String(20), default="sso")  # sso, refresh, qa, cli
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Not indexed: every refresh inserts a row, and only the prune (services/tokens.py) reads
    # tokens by expiry.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    client: Mapped[ClientApplication] = relationship(back_populates="refresh_tokens")
    user: Mapped[User] = relationship()


class AccessToken(Base):
    """An opaque bearer access token (20 minutes). The password grant has no client."""

    __tablename__ = "access_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 hex
    # Indexed for the cascades (a client, user or refresh token deleted: pruning deletes refresh
    # tokens), revoking a client's tokens and a token family's (migration 0009).
    client_application_id: Mapped[int | None] = mapped_column(
        ForeignKey("client_applications.id", ondelete="CASCADE"), default=None, index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    refresh_token_id: Mapped[int | None] = mapped_column(
        ForeignKey("refresh_tokens.id", ondelete="SET NULL"), default=None, index=True
    )
    grant_type: Mapped[str] = mapped_column(String(20))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Not indexed: every refresh inserts a row, and only the prune reads tokens by expiry.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    client: Mapped[ClientApplication | None] = relationship(back_populates="access_tokens")
    user: Mapped[User] = relationship()
