"""search change log

Revision ID: 0003_search
Revises: 0002_materials
Create Date: 2026-11-30 04:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0003_search'
down_revision = '0002_materials'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('search_changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('material_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_changes'))
    )
    with op.batch_alter_table('search_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_search_changes_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_search_changes_material_id'), ['material_id'], unique=False)


def downgrade():
    with op.batch_alter_table('search_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_search_changes_material_id'))
        batch_op.drop_index(batch_op.f('ix_search_changes_at'))
    op.drop_table('search_changes')
