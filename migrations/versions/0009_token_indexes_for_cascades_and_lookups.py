"""index the token tables for cascades and lookups

The cascades (a client, user or refresh token deleted: pruning expired tokens deletes refresh
tokens, which sets their access tokens' refresh_token_id to NULL), revoking a client's or a
family's tokens and the client list's counts read the token tables by these columns; without the
indexes each of them scanned a table that every refresh grows. Each refresh writes a few more
pages for them; docs/serving.md has the measured cost.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 14:50:00

"""
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

INDEXES = [
    ('ix_refresh_tokens_client_application_id', 'refresh_tokens', 'client_application_id'),
    ('ix_refresh_tokens_user_id', 'refresh_tokens', 'user_id'),
    ('ix_refresh_tokens_family', 'refresh_tokens', 'family'),
    ('ix_access_tokens_client_application_id', 'access_tokens', 'client_application_id'),
    ('ix_access_tokens_user_id', 'access_tokens', 'user_id'),
    ('ix_access_tokens_refresh_token_id', 'access_tokens', 'refresh_token_id'),
]


def upgrade():
    for name, table, column in INDEXES:
        op.create_index(name, table, [column], unique=False)


def downgrade():
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
