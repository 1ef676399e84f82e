"""index audit events by time; drop the token expiry indexes

The QA console orders the audit trail by time (events written behind arrive a moment after the
ones written in their requests, so their ids are not in time order). Those events are written in
batches now, so an index on `at` costs little. The token tables lose their `expires_at` indexes:
every refresh at /token inserts into both, and no query looks tokens up by expiry.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 14:40:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_audit_events_at', 'audit_events', ['at'], unique=False)
    op.drop_index('ix_refresh_tokens_expires_at', table_name='refresh_tokens')
    op.drop_index('ix_access_tokens_expires_at', table_name='access_tokens')


def downgrade():
    op.create_index('ix_access_tokens_expires_at', 'access_tokens', ['expires_at'], unique=False)
    op.create_index('ix_refresh_tokens_expires_at', 'refresh_tokens', ['expires_at'], unique=False)
    op.drop_index('ix_audit_events_at', table_name='audit_events')
