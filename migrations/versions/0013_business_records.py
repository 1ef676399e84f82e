"""business records: events, commerce, communications and the long tail as iMIS contracts

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 15:30:00

"""
import sqlalchemy as sa
from alembic import op

import imis_mock.models.base

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "business_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=60), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("parent_key", sa.String(length=200), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", imis_mock.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", imis_mock.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_business_records_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_records")),
        sa.UniqueConstraint("entity", "key", name=op.f("uq_business_records_entity")),
    )
    op.create_index(
        "ix_business_records_entity_parent", "business_records", ["entity", "parent_key"]
    )
    op.create_index("ix_business_records_contact", "business_records", ["contact_id"])


def downgrade():
    op.drop_index("ix_business_records_contact", table_name="business_records")
    op.drop_index("ix_business_records_entity_parent", table_name="business_records")
    op.drop_table("business_records")
