"""sign-in throttle: attempts in flight counted apart from failures

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 09:45:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("sign_in_throttle") as batch_op:
        batch_op.add_column(
            sa.Column("pending", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade():
    with op.batch_alter_table("sign_in_throttle") as batch_op:
        batch_op.drop_column("pending")
