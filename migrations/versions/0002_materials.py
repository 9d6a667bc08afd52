"""materials and their files

Revision ID: 0002_materials
Revises: 0001_foundation
Create Date: 2026-11-30 02:50:09.486105

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002_materials'
down_revision = '0001_foundation'
branch_labels = None
depends_on = None


def upgrade():
    
    op.create_table('pending_uploads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('object_key', sa.String(length=128), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_uploads')),
    sa.UniqueConstraint('object_key', name=op.f('uq_pending_uploads_object_key'))
    )
    op.create_table('materials',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('subject', sa.String(length=32), nullable=False),
    sa.Column('grades', sa.JSON(), nullable=False),
    sa.Column('topic', sa.String(length=255), nullable=True),
    sa.Column('series', sa.String(length=32), nullable=True),
    sa.Column('material_type', sa.String(length=32), nullable=False),
    sa.Column('licence', sa.String(length=32), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('approved_at', sa.DateTime(), nullable=True),
    sa.Column('view_count', sa.Integer(), nullable=False),
    sa.Column('download_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_materials_owner_id_users')),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_materials_school_id_schools')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_materials'))
    )
    with op.batch_alter_table('materials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_materials_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_materials_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_materials_school_id'), ['school_id'], unique=False)
        batch_op.create_index('ix_materials_school_status', ['school_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_materials_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_materials_subject'), ['subject'], unique=False)

    op.create_table('material_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('material_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('replaces_id', sa.Integer(), nullable=True),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('extension', sa.String(length=16), nullable=False),
    sa.Column('object_key', sa.String(length=128), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('mime_type', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('failure_reason', sa.Text(), nullable=True),
    sa.Column('thumbnail_key', sa.String(length=128), nullable=True),
    sa.Column('preview_key', sa.String(length=128), nullable=True),
    sa.Column('extracted_text', sa.Text(), nullable=True),
    sa.Column('text_flags', sa.JSON(), nullable=False),
    sa.Column('duplicate_of_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('processed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['duplicate_of_id'], ['material_files.id'], name=op.f('fk_material_files_duplicate_of_id_material_files')),
    sa.ForeignKeyConstraint(['material_id'], ['materials.id'], name=op.f('fk_material_files_material_id_materials')),
    sa.ForeignKeyConstraint(['replaces_id'], ['material_files.id'], name=op.f('fk_material_files_replaces_id_material_files')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_material_files_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_material_files')),
    sa.UniqueConstraint('object_key', name=op.f('uq_material_files_object_key'))
    )
    with op.batch_alter_table('material_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_material_files_material_id'), ['material_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_material_files_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_material_files_state'), ['state'], unique=False)

    


def downgrade():
    
    with op.batch_alter_table('material_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_material_files_state'))
        batch_op.drop_index(batch_op.f('ix_material_files_sha256'))
        batch_op.drop_index(batch_op.f('ix_material_files_material_id'))

    op.drop_table('material_files')
    with op.batch_alter_table('materials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_materials_subject'))
        batch_op.drop_index(batch_op.f('ix_materials_status'))
        batch_op.drop_index('ix_materials_school_status')
        batch_op.drop_index(batch_op.f('ix_materials_school_id'))
        batch_op.drop_index(batch_op.f('ix_materials_owner_id'))
        batch_op.drop_index(batch_op.f('ix_materials_created_at'))

    op.drop_table('materials')
    op.drop_table('pending_uploads')
    
