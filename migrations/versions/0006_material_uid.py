"""Materials: a stable identifier (uid) that survives moving between deployments

Revision ID: 0006_material_uid
Revises: 0005_api
Create Date: 2026-11-30 06:05:00

The column is added nullable, every existing material gets a random UUID, then the column becomes
NOT NULL and unique (batch mode, so SQLite rebuilds the table once).
"""
import uuid

from alembic import op
import sqlalchemy as sa


revision = '0006_material_uid'
down_revision = '0005_api'
branch_labels = None
depends_on = None

_BATCH = 5000


def _backfill():
    """One UUID per existing material, written in batches so a large catalogue is not one statement."""
    connection = op.get_bind()
    materials = sa.table('materials', sa.column('id', sa.Integer()), sa.column('uid', sa.String(36)))
    last = 0
    while True:
        ids = connection.execute(sa.select(materials.c.id).where(materials.c.id > last)
                                 .order_by(materials.c.id).limit(_BATCH)).scalars().all()
        if not ids:
            return
        connection.execute(materials.update().where(materials.c.id == sa.bindparam('row_id'))
                           .values(uid=sa.bindparam('new_uid')),
                           [{'row_id': row_id, 'new_uid': str(uuid.uuid4())} for row_id in ids])
        last = ids[-1]


def upgrade():
    with op.batch_alter_table('materials', schema=None) as batch_op:
        batch_op.add_column(sa.Column('uid', sa.String(length=36), nullable=True))
    _backfill()
    with op.batch_alter_table('materials', schema=None) as batch_op:
        batch_op.alter_column('uid', existing_type=sa.String(length=36), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_materials_uid'), ['uid'])


def downgrade():
    with op.batch_alter_table('materials', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_materials_uid'), type_='unique')
        batch_op.drop_column('uid')
