"""parties: organizations, middle name and suffix, employer link, lower(last_name) index;
party_statuses lookup table

The REST API writes parties (ComboPartyData, PersonData, OrganizationData), filters them with
`lastname=startsWith:...` (an index on lower(last_name) keeps that off a full scan), and serves
PartyStatus, a plain lookup entity, from its own table.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 15:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('contacts') as batch:
        batch.add_column(sa.Column('middle_name', sa.String(60), nullable=False, server_default=''))
        batch.add_column(sa.Column('suffix', sa.String(20), nullable=False, server_default=''))
        batch.add_column(
            sa.Column('is_organization', sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column('organization_party_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(
            'fk_contacts_organization_party_id_contacts',
            'contacts',
            ['organization_party_id'],
            ['id'],
            ondelete='SET NULL',
        )
        batch.create_index('ix_contacts_organization_party_id', ['organization_party_id'])
    op.create_index('ix_contacts_lower_last_name', 'contacts', [sa.text('lower(last_name)')])
    op.create_table(
        'party_statuses',
        sa.Column('code', sa.String(1), nullable=False),
        sa.Column('name', sa.String(60), nullable=False),
        sa.Column('description', sa.String(120), nullable=False),
        sa.Column('active_status', sa.String(20), nullable=False),
        sa.PrimaryKeyConstraint('code', name='pk_party_statuses'),
    )


def downgrade():
    op.drop_table('party_statuses')
    op.drop_index('ix_contacts_lower_last_name', table_name='contacts')
    with op.batch_alter_table('contacts') as batch:
        batch.drop_index('ix_contacts_organization_party_id')
        batch.drop_constraint('fk_contacts_organization_party_id_contacts', type_='foreignkey')
        batch.drop_column('organization_party_id')
        batch.drop_column('is_organization')
        batch.drop_column('suffix')
        batch.drop_column('middle_name')
