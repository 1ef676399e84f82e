"""Old tokens are deleted: by `flask prune-tokens`, and by themselves after hand-offs."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from imis_mock.extensions import db
from imis_mock.models import AccessToken, AppSetting, RefreshToken
from imis_mock.services import accounts, clock, tokens
from imis_mock.services.clients import find_client
from tests.support.data import create_client_application
from tests.support.oauth import SECRET, mint


def make_tokens(app) -> dict[str, str]:
    """An expired, a long-revoked, a just-revoked and a live refresh token, and access tokens."""
    create_client_application(app, "MyApp", SECRET, lifetime=30)
    raws = {name: mint(app) for name in ("expired", "revoked", "just_revoked", "live")}
    with app.app_context():
        now = clock.now()
        found = {name: tokens.find_refresh_token(raw) for name, raw in raws.items()}
        found["expired"].expires_at = now - timedelta(hours=2)
        found["revoked"].revoked_at = now - timedelta(hours=2)
        found["just_revoked"].revoked_at = now - timedelta(minutes=5)
        user, client = accounts.get_user("jsmith"), find_client("MyApp")
        # A live access token minted from the expired refresh token outlives it.
        raws["orphan"], _ = tokens.issue_access_token(
            user, client, grant_type="refresh_token", refresh_token=found["expired"]
        )
        raws["old_access"], old = tokens.issue_access_token(user, client, grant_type="password")
        old.expires_at = now - timedelta(hours=2)
        db.session.commit()
    return raws


def remaining(app, raws: dict[str, str]) -> set[str]:
    with app.app_context():
        return {
            name
            for name, raw in raws.items()
            if tokens.find_refresh_token(raw) or tokens.find_access_token(raw)
        }


def test_prune_tokens_deletes_what_expired_or_was_revoked_over_an_hour_ago(app):
    raws = make_tokens(app)
    result = app.test_cli_runner().invoke(args=["prune-tokens"])
    assert result.exit_code == 0, result.output
    assert "Deleted 2 refresh tokens and 1 access tokens." in result.output
    assert remaining(app, raws) == {"just_revoked", "live", "orphan"}
    with app.app_context():
        assert tokens.find_access_token(raws["orphan"]).refresh_token_id is None


def test_a_hand_off_prunes_once_an_hour(app):
    raws = make_tokens(app)
    with app.app_context():
        # The hand-offs above pruned (or found it done): make the last prune long ago.
        setting = db.session.get(AppSetting, tokens.PRUNED_KEY)
        setting.value = datetime(2020, 1, 1, tzinfo=UTC).isoformat()
        db.session.commit()
    raws["new"] = mint(app)  # a hand-off: the last prune was long ago
    assert remaining(app, raws) == {"just_revoked", "live", "orphan", "new"}
    with app.app_context():
        last = datetime.fromisoformat(db.session.get(AppSetting, tokens.PRUNED_KEY).value)
        assert datetime.now(UTC) - last < timedelta(minutes=1)
        expired = tokens.find_refresh_token(raws["live"])
        expired.expires_at = clock.now() - timedelta(hours=2)
        db.session.commit()
    mint(app)  # pruned a moment ago: not again
    with app.app_context():
        assert tokens.find_refresh_token(raws["live"]) is not None
        count = db.session.scalar(select(func.count()).select_from(RefreshToken))
        assert count == 4
        assert db.session.scalar(select(func.count()).select_from(AccessToken)) == 1
