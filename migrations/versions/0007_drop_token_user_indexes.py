"""drop the token tables' user_id indexes

Nothing looks tokens up by user (a disabled user's tokens are refused by joining from the token to
its user), and users are never deleted, so these indexes only cost: every refresh at /token
inserts into both tables.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 15:10:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('ix_refresh_tokens_user_id', table_name='refresh_tokens')
    op.drop_index('ix_access_tokens_user_id', table_name='access_tokens')


def downgrade():
    op.create_index('ix_access_tokens_user_id', 'access_tokens', ['user_id'], unique=False)
    op.create_index('ix_refresh_tokens_user_id', 'refresh_tokens', ['user_id'], unique=False)
