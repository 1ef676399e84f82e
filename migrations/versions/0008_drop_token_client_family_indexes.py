"""drop the token tables' client_application_id and family indexes

Every refresh at /token inserts a row into both token tables, and each index is one more page
written (and copied back from SQLite's log) per refresh: without these three, a refresh writes 4
pages instead of 7. What used them is rare: revoking a token family (strict rotation, on reuse),
revoking or deleting a client's tokens (secret replaced, client deleted, the QA console), and the
Client applications list's token counts, now one grouped query. Those now scan the token tables.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 17:20:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('ix_refresh_tokens_client_application_id', table_name='refresh_tokens')
    op.drop_index('ix_refresh_tokens_family', table_name='refresh_tokens')
    op.drop_index('ix_access_tokens_client_application_id', table_name='access_tokens')


def downgrade():
    op.create_index(
        'ix_access_tokens_client_application_id', 'access_tokens', ['client_application_id']
    )
    op.create_index('ix_refresh_tokens_family', 'refresh_tokens', ['family'])
    op.create_index(
        'ix_refresh_tokens_client_application_id', 'refresh_tokens', ['client_application_id']
    )
