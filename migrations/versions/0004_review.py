"""review workflow: settings, review states and decisions, problem reports, notifications and
near-duplicate fingerprints (MinHash signatures, LSH band keys, flags)

Revision ID: 0004_review
Revises: 0003_search
Create Date: 2026-11-30 04:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0004_review'
down_revision = '0003_search'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_settings_actor_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_settings'))
    )
    with op.batch_alter_table('settings', schema=None) as batch_op:
        batch_op.create_index('ix_settings_key_id', ['key', 'id'], unique=False)

    op.create_table('material_signatures',
    sa.Column('material_id', sa.Integer(), nullable=False),
    sa.Column('signature', sa.JSON(), nullable=False),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['material_id'], ['materials.id'], name=op.f('fk_material_signatures_material_id_materials'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('material_id', name=op.f('pk_material_signatures'))
    )
    op.create_table('minhash_bands',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('material_id', sa.Integer(), nullable=False),
    sa.Column('band', sa.Integer(), nullable=False),
    sa.Column('key', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['material_id'], ['materials.id'], name=op.f('fk_minhash_bands_material_id_materials'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_minhash_bands'))
    )
    with op.batch_alter_table('minhash_bands', schema=None) as batch_op:
        batch_op.create_index('ix_minhash_bands_band_key', ['band', 'key'], unique=False)
        batch_op.create_index(batch_op.f('ix_minhash_bands_material_id'), ['material_id'], unique=False)

    op.create_table('near_duplicates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('material_id', sa.Integer(), nullable=False),
    sa.Column('other_id', sa.Integer(), nullable=False),
    sa.Column('similarity', sa.Float(), nullable=False),
    sa.Column('found_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['material_id'], ['materials.id'], name=op.f('fk_near_duplicates_material_id_materials'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['other_id'], ['materials.id'], name=op.f('fk_near_duplicates_other_id_materials'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_near_duplicates')),
    sa.UniqueConstraint('material_id', 'other_id', name=op.f('uq_near_duplicates_material_id'))
    )
    with op.batch_alter_table('near_duplicates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_near_duplicates_material_id'), ['material_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_near_duplicates_other_id'), ['other_id'], unique=False)

    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('material_id', sa.Integer(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=True),
    sa.Column('digest_pending', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['material_id'], ['materials.id'], name=op.f('fk_notifications_material_id_materials'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_digest_pending'), ['digest_pending'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_material_id'), ['material_id'], unique=False)
        batch_op.create_index('ix_notifications_user_read', ['user_id', 'read_at'], unique=False)

    op.create_table('problem_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('material_id', sa.Integer(), nullable=False),
    sa.Column('reporter_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['material_id'], ['materials.id'], name=op.f('fk_problem_reports_material_id_materials'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reporter_id'], ['users.id'], name=op.f('fk_problem_reports_reporter_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_problem_reports'))
    )
    with op.batch_alter_table('problem_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_problem_reports_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_problem_reports_material_id'), ['material_id'], unique=False)

    op.create_table('review_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('material_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('from_state', sa.String(length=24), nullable=False),
    sa.Column('to_state', sa.String(length=24), nullable=False),
    sa.Column('waiting_since', sa.DateTime(), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=False),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['material_id'], ['materials.id'], name=op.f('fk_review_decisions_material_id_materials'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_review_decisions_reviewer_id_users')),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_review_decisions_school_id_schools')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_decisions'))
    )
    with op.batch_alter_table('review_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_decisions_decided_at'), ['decided_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_decisions_material_id'), ['material_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_decisions_reviewer_id'), ['reviewer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_decisions_school_id'), ['school_id'], unique=False)

    op.create_table('review_states',
    sa.Column('material_id', sa.Integer(), nullable=False),
    sa.Column('entered_at', sa.DateTime(), nullable=False),
    sa.Column('claimed_by_id', sa.Integer(), nullable=True),
    sa.Column('claim_expires_at', sa.DateTime(), nullable=True),
    sa.Column('revision', sa.String(length=24), nullable=True),
    sa.Column('approved_file_ids', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['claimed_by_id'], ['users.id'], name=op.f('fk_review_states_claimed_by_id_users')),
    sa.ForeignKeyConstraint(['material_id'], ['materials.id'], name=op.f('fk_review_states_material_id_materials'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('material_id', name=op.f('pk_review_states'))
    )
    with op.batch_alter_table('review_states', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_states_entered_at'), ['entered_at'], unique=False)



def downgrade():
    with op.batch_alter_table('review_states', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_states_entered_at'))

    op.drop_table('review_states')
    with op.batch_alter_table('review_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_decisions_school_id'))
        batch_op.drop_index(batch_op.f('ix_review_decisions_reviewer_id'))
        batch_op.drop_index(batch_op.f('ix_review_decisions_material_id'))
        batch_op.drop_index(batch_op.f('ix_review_decisions_decided_at'))

    op.drop_table('review_decisions')
    with op.batch_alter_table('problem_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_problem_reports_material_id'))
        batch_op.drop_index(batch_op.f('ix_problem_reports_created_at'))

    op.drop_table('problem_reports')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_user_read')
        batch_op.drop_index(batch_op.f('ix_notifications_material_id'))
        batch_op.drop_index(batch_op.f('ix_notifications_digest_pending'))

    op.drop_table('notifications')
    with op.batch_alter_table('near_duplicates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_near_duplicates_other_id'))
        batch_op.drop_index(batch_op.f('ix_near_duplicates_material_id'))

    op.drop_table('near_duplicates')
    with op.batch_alter_table('minhash_bands', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_minhash_bands_material_id'))
        batch_op.drop_index('ix_minhash_bands_band_key')

    op.drop_table('minhash_bands')
    op.drop_table('material_signatures')
    with op.batch_alter_table('settings', schema=None) as batch_op:
        batch_op.drop_index('ix_settings_key_id')

    op.drop_table('settings')
