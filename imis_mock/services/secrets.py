"""Random tokens and the hashes kept in their place. Nothing here stores or logs a plain value.

- Tokens (refresh and access) have 256 random bits, so a plain SHA-256 is enough to store them.
- Client secrets are chosen by staff and may be weak, so they are stored as HMAC-SHA256 under a
  key derived from SECRET_KEY: a stolen database alone cannot be brute-forced. Checking costs
  microseconds (not a password hash), because /token checks the secret on every request.
  Changing SECRET_KEY therefore invalidates every stored client secret.
"""

import hashlib
import hmac
import secrets

from flask import current_app

TOKEN_BYTES = 32


def new_token() -> str:
    """Return a new opaque token: 256 random bits, base64url, no dots (not a JWT)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """Return the SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def fingerprint(token: str) -> str:
    """Return a short, non-reversible tag for a token or secret, safe to show and log."""
    return token_hash(token)[:8] if token else ""


def _secret_key() -> bytes:
    base = current_app.config["SECRET_KEY"].encode()
    return hmac.new(base, b"imis-mock client secret v1", hashlib.sha256).digest()


def client_secret_hash(secret: str) -> str:
    """Return the keyed hash stored for a client secret."""
    return hmac.new(_secret_key(), secret.encode("utf-8", "surrogatepass"), "sha256").hexdigest()


def client_secret_matches(secret: str, stored_hash: str) -> bool:
    """Compare a presented secret with the stored hash in constant time."""
    return hmac.compare_digest(client_secret_hash(secret), stored_hash)


def generate_client_secret() -> str:
    """Propose a strong random client secret for the "Generate" button."""
    return secrets.token_urlsafe(32)
