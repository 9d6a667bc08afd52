"""Contribution reports: facts, school-year rules, electives, submissions

Revision ID: 0007_reports
Revises: 0006_material_uid
Create Date: 2026-11-30 07:43:24

Facts are derived from the audit trail, not migrated: after upgrading an existing deployment run
`flask --app app reports rebuild` once (the upgrade procedure in the README says so, and
`flask --app app check` reports materials whose facts are missing).
"""
from alembic import op
import sqlalchemy as sa


revision = '0007_reports'
down_revision = '0006_material_uid'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('report_submissions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_year', sa.String(length=9), nullable=False),
    sa.Column('period', sa.String(length=40), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.Column('submitted_by_id', sa.Integer(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('reopened_at', sa.DateTime(), nullable=True),
    sa.Column('reopened_by_id', sa.Integer(), nullable=True),
    sa.Column('reopen_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['reopened_by_id'], ['users.id'], name=op.f('fk_report_submissions_reopened_by_id_users')),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_report_submissions_school_id_schools')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_report_submissions_submitted_by_id_users')),
    sa.ForeignKeyConstraint(['unit_id'], ['admin_units.id'], name=op.f('fk_report_submissions_unit_id_admin_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_submissions'))
    )
    with op.batch_alter_table('report_submissions', schema=None) as batch_op:
        batch_op.create_index('ix_report_submissions_period', ['period', 'school_id', 'unit_id'], unique=False)
        for target in ('school_id', 'unit_id'):  # one submission in force per period and school/unit
            in_force = sa.text(f'reopened_at IS NULL AND {target} IS NOT NULL')
            batch_op.create_index(f'uq_report_submissions_{target[:-3]}_in_force', ['period', target], unique=True,
                                  sqlite_where=in_force, postgresql_where=in_force)

    op.create_table('report_years',
    sa.Column('school_year', sa.String(length=9), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_report_years_updated_by_id_users')),
    sa.PrimaryKeyConstraint('school_year', name=op.f('pk_report_years'))
    )
    op.create_table('school_electives',
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('school_year', sa.String(length=9), nullable=False),
    sa.Column('subjects', sa.JSON(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_school_electives_school_id_schools')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_school_electives_updated_by_id_users')),
    sa.PrimaryKeyConstraint('school_id', 'school_year', name=op.f('pk_school_electives'))
    )
    op.create_table('contribution_facts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('material_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=32), nullable=False),
    sa.Column('grade', sa.String(length=16), nullable=False),
    sa.Column('school_approved_at', sa.DateTime(), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('duplicate', sa.Boolean(), nullable=False),
    sa.Column('main', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['material_id'], ['materials.id'], name=op.f('fk_contribution_facts_material_id_materials'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_contribution_facts_owner_id_users')),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_contribution_facts_school_id_schools')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contribution_facts'))
    )
    with op.batch_alter_table('contribution_facts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contribution_facts_material_id'), ['material_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contribution_facts_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index('ix_contribution_facts_cells', ['school_id', 'subject', 'grade', 'school_approved_at',
                              'published_at', 'ended_at', 'duplicate', 'main'], unique=False)
        batch_op.create_index('ix_contribution_facts_authors', ['school_id', 'owner_id', 'school_approved_at',
                              'published_at', 'ended_at', 'duplicate'], unique=False)



def downgrade():
    with op.batch_alter_table('contribution_facts', schema=None) as batch_op:
        batch_op.drop_index('ix_contribution_facts_authors')
        batch_op.drop_index('ix_contribution_facts_cells')
        batch_op.drop_index(batch_op.f('ix_contribution_facts_owner_id'))
        batch_op.drop_index(batch_op.f('ix_contribution_facts_material_id'))

    op.drop_table('contribution_facts')
    op.drop_table('school_electives')
    op.drop_table('report_years')
    with op.batch_alter_table('report_submissions', schema=None) as batch_op:
        batch_op.drop_index('uq_report_submissions_unit_in_force')
        batch_op.drop_index('uq_report_submissions_school_in_force')
        batch_op.drop_index('ix_report_submissions_period')

    op.drop_table('report_submissions')
