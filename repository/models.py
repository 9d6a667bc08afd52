"""The relational data model: administrative units, schools, accounts, roles and the audit trail.

Curriculum vocabulary (subjects, grades, school types, series, material types) is data in data/,
referenced here by code. Every table is created by a migration in migrations/.
"""
from __future__ import annotations

import enum
import uuid
from datetime import date, datetime, timezone
from typing import Any, Optional

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from repository.extensions import db


def new_material_uid() -> str:
    """A material's stable identifier: a random UUID in its canonical 36-character form."""
    return str(uuid.uuid4())


def utcnow() -> datetime:
    """Naive UTC: SQLite keeps no offsets, so every stored timestamp is UTC without tzinfo."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class UnitKind(str, enum.Enum):
    DEPARTMENT = "department"
    WARD = "ward"  # phường
    COMMUNE = "commune"  # xã


class Role(str, enum.Enum):
    """Role codes used by the CLI, the API and the policy module."""

    TEACHER = "teacher"
    SCHOOL_REVIEWER = "school_reviewer"
    SCHOOL_ADMIN = "school_admin"
    UNIT_OFFICER = "unit_officer"
    DEPT_REVIEWER = "dept_reviewer"
    DEPT_ADMIN = "dept_admin"

    @property
    def school_scoped(self) -> bool:
        return self in SCHOOL_ROLES


SCHOOL_ROLES = frozenset({Role.TEACHER, Role.SCHOOL_REVIEWER, Role.SCHOOL_ADMIN})
DEPARTMENT_ROLES = frozenset({Role.DEPT_REVIEWER, Role.DEPT_ADMIN})


class UserStatus(str, enum.Enum):
    PENDING = "pending"  # created by an admin or an import; must set a password first
    ACTIVE = "active"
    DISABLED = "disabled"
    ANONYMISED = "anonymised"


class AdminUnit(db.Model):
    """The department or a commune/ward People's Committee that schools report to."""

    __tablename__ = "admin_units"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    province_code: Mapped[Optional[int]]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class School(db.Model):
    """A school with its official code. A merged school points to its successor and keeps its rows."""

    __tablename__ = "schools"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    school_type: Mapped[str] = mapped_column(String(32))
    # The commune/ward where the school is; reports_to is derived from the school type.
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"), index=True)
    reports_to_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"), index=True)
    grades_override: Mapped[Optional[list[str]]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(default=True)
    successor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("schools.id"))
    merged_at: Mapped[Optional[datetime]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    unit: Mapped[AdminUnit] = relationship(foreign_keys=[unit_id])
    reports_to: Mapped[AdminUnit] = relationship(foreign_keys=[reports_to_id])
    successor: Mapped[Optional["School"]] = relationship(remote_side=[id])


class SchoolEvent(db.Model):
    """History of a school's identity: creation, renames, type changes, merges, deactivation."""

    __tablename__ = "school_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[Optional[str]] = mapped_column(Text)
    new_value: Mapped[Optional[str]] = mapped_column(Text)
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class User(db.Model):
    """One person's account. Personal data is limited to what the fields below hold."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(255))
    phone: Mapped[Optional[str]] = mapped_column(String(32))
    staff_id: Mapped[Optional[str]] = mapped_column(String(64), unique=True)
    school_id: Mapped[Optional[int]] = mapped_column(ForeignKey("schools.id"), index=True)
    unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("admin_units.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=UserStatus.PENDING.value)
    password_hash: Mapped[Optional[str]] = mapped_column(String(255))
    password_changed_at: Mapped[Optional[datetime]]
    must_change_password: Mapped[bool] = mapped_column(default=False)
    # Rotated on every password change: sessions carrying an older value are signed out.
    session_token: Mapped[str] = mapped_column(String(64))
    last_login_at: Mapped[Optional[datetime]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    school: Mapped[Optional[School]] = relationship()
    unit: Mapped[Optional[AdminUnit]] = relationship()
    roles: Mapped[list["RoleAssignment"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    # Flask-Login protocol. The session id carries the token so a rotation invalidates it.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.status == UserStatus.ACTIVE.value

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def role_codes(self) -> set[str]:
        return {r.role for r in self.roles}


class RoleAssignment(db.Model):
    """A role held by a user, scoped to one school or one administrative unit."""

    __tablename__ = "role_assignments"
    __table_args__ = (UniqueConstraint("user_id", "role", "school_id", "unit_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    school_id: Mapped[Optional[int]] = mapped_column(ForeignKey("schools.id"), index=True)
    unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("admin_units.id"), index=True)
    # Reviewer assignments: subject codes and levels (cấp học); empty means all.
    subjects: Mapped[list[str]] = mapped_column(JSON, default=list)
    levels: Mapped[list[str]] = mapped_column(JSON, default=list)
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="roles")
    school: Mapped[Optional[School]] = relationship()
    unit: Mapped[Optional[AdminUnit]] = relationship()


class UserSchoolMove(db.Model):
    """A teacher's move from one school to another (kept for contribution history)."""

    __tablename__ = "user_school_moves"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    from_school_id: Mapped[Optional[int]] = mapped_column(ForeignKey("schools.id"))
    to_school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class PasswordHistory(db.Model):
    """Previous password hashes, so the last few cannot be reused."""

    __tablename__ = "password_history"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AccountToken(db.Model):
    """A one-time link (activation or password reset). Only the token's SHA-256 is stored."""

    __tablename__ = "account_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[Optional[datetime]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginFailure(db.Model):
    """A failed sign-in for an e-mail key, whether or not an account has that e-mail."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key_at", "email_key", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    email_key: Mapped[str] = mapped_column(String(64))  # SHA-256 of the lower-cased e-mail
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(db.Model):
    """Who did what to which record, and when. Details never hold passwords or tokens."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_target", "target_type", "target_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[Optional[str]] = mapped_column(String(32))
    target_id: Mapped[Optional[int]]
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class MaterialStatus(str, enum.Enum):
    """Workflow state codes, used by the API, the bulk import and the reports."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    CHANGES_REQUESTED = "changes_requested"
    SCHOOL_APPROVED = "school_approved"
    PUBLISHED = "published"
    REJECTED = "rejected"
    RETRACTED = "retracted"
    TAKEN_DOWN = "taken_down"


class FileState(str, enum.Enum):
    UPLOADED = "uploaded"  # stored; thumbnails, rendition and text not made yet
    READY = "ready"
    FAILED = "failed"  # processing failed; the upload itself is kept


class Material(db.Model):
    """A learning material: metadata tagged by the curriculum, owned by a teacher and credited to
    the school the teacher belonged to when creating it (school_id never changes)."""

    __tablename__ = "materials"
    __table_args__ = (Index("ix_materials_school_status", "school_id", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(String(32), index=True)
    grades: Mapped[list[str]] = mapped_column(JSON, default=list)
    topic: Mapped[Optional[str]] = mapped_column(String(255))
    series: Mapped[Optional[str]] = mapped_column(String(32))
    material_type: Mapped[str] = mapped_column(String(32))
    licence: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8), default="vi")
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(24), default=MaterialStatus.DRAFT.value, index=True)
    approved_at: Mapped[Optional[datetime]]
    view_count: Mapped[int] = mapped_column(default=0)
    download_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # The identifier that travels with the material between deployments (catalogue export and
    # bulk import): a re-imported export finds its materials by uid instead of duplicating them.
    uid: Mapped[str] = mapped_column(String(36), unique=True, default=new_material_uid)

    school: Mapped[School] = relationship()
    owner: Mapped[User] = relationship()
    files: Mapped[list["MaterialFile"]] = relationship(
        back_populates="material", order_by="MaterialFile.id", cascade="all, delete-orphan"
    )

    @property
    def current_files(self) -> list["MaterialFile"]:
        return [f for f in self.files if f.is_current]


class MaterialFile(db.Model):
    """One stored file of a material. Replacing a file adds a new version; old versions stay."""

    __tablename__ = "material_files"
    id: Mapped[int] = mapped_column(primary_key=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("materials.id"), index=True)
    version: Mapped[int] = mapped_column(default=1)
    is_current: Mapped[bool] = mapped_column(default=True)
    replaces_id: Mapped[Optional[int]] = mapped_column(ForeignKey("material_files.id"))
    original_name: Mapped[str] = mapped_column(String(255))
    extension: Mapped[str] = mapped_column(String(16))
    object_key: Mapped[str] = mapped_column(String(128), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    mime_type: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default=FileState.UPLOADED.value, index=True)
    failure_reason: Mapped[Optional[str]] = mapped_column(Text)
    thumbnail_key: Mapped[Optional[str]] = mapped_column(String(128))
    preview_key: Mapped[Optional[str]] = mapped_column(String(128))
    extracted_text: Mapped[Optional[str]] = mapped_column(Text)
    text_flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    duplicate_of_id: Mapped[Optional[int]] = mapped_column(ForeignKey("material_files.id"))
    uploaded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[Optional[datetime]]

    material: Mapped[Material] = relationship(back_populates="files")
    duplicate_of: Mapped[Optional["MaterialFile"]] = relationship(
        foreign_keys=[duplicate_of_id], remote_side=[id]
    )


class PendingUpload(db.Model):
    """An object being written before its file row commits: `check` does not call it an orphan
    until it is older than the longest allowed upload."""

    __tablename__ = "pending_uploads"
    id: Mapped[int] = mapped_column(primary_key=True)
    object_key: Mapped[str] = mapped_column(String(128), unique=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)


class SearchChange(db.Model):
    """One row per committed change that affects search, written in the changing transaction.

    Each search index applies these rows from its own cursor (search/applier.py), so every host
    can keep its own index. The row names the material only: applying re-reads the material's
    current state, which makes re-applying a row harmless. No foreign key: a deleted material's
    row must survive so that indexes remove it too.
    """

    __tablename__ = "search_changes"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True)
    material_id: Mapped[int] = mapped_column(index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


# --- Review workflow (issue 5): settings, review bookkeeping, decisions, problem reports,
# --- notifications and near-duplicate fingerprints. ---------------------------------------------


class Setting(db.Model):
    """One value of a run-time policy setting. Every change adds a row; the newest row per key is
    the value in force, the older rows are its history."""

    __tablename__ = "settings"
    __table_args__ = (Index("ix_settings_key_id", "key", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    value: Mapped[Any] = mapped_column(JSON)
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ReviewState(db.Model):
    """The review bookkeeping of one material: since when it waits in its state (queue age), who
    has claimed it until when, and a pending revision of an approved material.

    A revision: a new file version of a school-approved or published material is reviewed again
    (`revision` holds its workflow state) while `approved_file_ids` stay what everyone else sees.
    """

    __tablename__ = "review_states"
    material_id: Mapped[int] = mapped_column(ForeignKey("materials.id", ondelete="CASCADE"), primary_key=True)
    entered_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    claimed_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    claim_expires_at: Mapped[Optional[datetime]]
    revision: Mapped[Optional[str]] = mapped_column(String(24))
    approved_file_ids: Mapped[list[int]] = mapped_column(JSON, default=list)


Material.review = relationship(ReviewState, uselist=False, lazy="joined", cascade="all, delete-orphan")


class ReviewDecision(db.Model):
    """One reviewer decision with how long the item had waited: the source of reviewer figures."""

    __tablename__ = "review_decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("materials.id", ondelete="CASCADE"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    reviewer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24))
    waiting_since: Mapped[datetime]
    decided_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    late: Mapped[bool] = mapped_column(default=False)


class ProblemReport(db.Model):
    """A signed-in user's report of a problem with a published material (department queue)."""

    __tablename__ = "problem_reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("materials.id", ondelete="CASCADE"), index=True)
    reporter_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    resolved_at: Mapped[Optional[datetime]]


class Notification(db.Model):
    """An in-app notice for one user. It stores codes and ids, rendered in the reader's language."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_read", "user_id", "read_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(32))
    material_id: Mapped[Optional[int]] = mapped_column(ForeignKey("materials.id", ondelete="CASCADE"), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[Optional[datetime]]
    digest_pending: Mapped[bool] = mapped_column(default=False, index=True)

    material: Mapped[Optional[Material]] = relationship()


class MaterialSignature(db.Model):
    """A material's MinHash signature over word shingles of its title, description and text."""

    __tablename__ = "material_signatures"
    material_id: Mapped[int] = mapped_column(ForeignKey("materials.id", ondelete="CASCADE"), primary_key=True)
    signature: Mapped[list[int]] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class MinHashBand(db.Model):
    """One LSH band key of a signature: materials sharing a (band, key) are candidate duplicates,
    found by an index lookup instead of a scan."""

    __tablename__ = "minhash_bands"
    __table_args__ = (Index("ix_minhash_bands_band_key", "band", "key"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("materials.id", ondelete="CASCADE"), index=True)
    band: Mapped[int]
    key: Mapped[int] = mapped_column(BigInteger)


class NearDuplicate(db.Model):
    """A flag: `material` is similar to the earlier `other` (estimated Jaccard similarity)."""

    __tablename__ = "near_duplicates"
    __table_args__ = (UniqueConstraint("material_id", "other_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("materials.id", ondelete="CASCADE"), index=True)
    other_id: Mapped[int] = mapped_column(ForeignKey("materials.id", ondelete="CASCADE"), index=True)
    similarity: Mapped[float]
    found_at: Mapped[datetime] = mapped_column(default=utcnow)

    other: Mapped[Material] = relationship(foreign_keys=[other_id])


# --- API: personal access tokens (issue 7) ----------------------------------------------------------

class ApiToken(db.Model):
    """A personal access token for the JSON API. Only the token's SHA-256 is stored; the token
    itself is shown once. It carries its user's permissions, optionally read-only."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the token, so that its owner can tell tokens apart in the list.
    prefix: Mapped[str] = mapped_column(String(16))
    read_only: Mapped[bool] = mapped_column(default=False)
    expires_at: Mapped[Optional[datetime]]
    last_used_at: Mapped[Optional[datetime]]
    revoked_at: Mapped[Optional[datetime]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()


# --- Contribution reports (issue 6) -------------------------------------------------------------

class ReportYear(db.Model):
    """The measure of one school year, as the department admin set it. It is stored with the
    year, so a report of an earlier year is computed with the rules that year had."""

    __tablename__ = "report_years"
    school_year: Mapped[str] = mapped_column(String(9), primary_key=True)  # "2026-2027"
    starts_on: Mapped[date]
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SchoolElectives(db.Model):
    """The elective subjects (grades 10-12) a school declares it teaches in a school year."""

    __tablename__ = "school_electives"
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), primary_key=True)
    school_year: Mapped[str] = mapped_column(String(9), primary_key=True)
    subjects: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ContributionFact(db.Model):
    """One approval interval of a material for one of its grades: the reports' single source.

    Derived from the material's audit trail (repository.reports.facts), never edited by hand:
    `school_approved_at` opens the interval (the school approval, or a direct publication),
    `published_at` is the department publication within it, `ended_at` closes it (retracted,
    taken down, rejected or sent back). `duplicate` marks a material whose file is a copy of an
    earlier material of another school; it never counts."""

    __tablename__ = "contribution_facts"
    # Covering indexes: the report's two aggregates read only the index, already in group order.
    __table_args__ = (Index("ix_contribution_facts_cells", "school_id", "subject", "grade", "school_approved_at",
                            "published_at", "ended_at", "duplicate", "main"),
                      Index("ix_contribution_facts_authors", "school_id", "owner_id", "school_approved_at",
                            "published_at", "ended_at", "duplicate"))
    id: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("materials.id", ondelete="CASCADE"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    subject: Mapped[str] = mapped_column(String(32))
    grade: Mapped[str] = mapped_column(String(16))
    school_approved_at: Mapped[datetime]
    published_at: Mapped[Optional[datetime]]
    ended_at: Mapped[Optional[datetime]]
    duplicate: Mapped[bool] = mapped_column(default=False)
    # True on one row per material interval (its first grade): counting these counts materials.
    main: Mapped[bool] = mapped_column(default=True)


class ReportSubmission(db.Model):
    """A report submitted for a period: the figures frozen as they were, with who and when.

    A school admin submits a school's report (school_id set); a unit officer the consolidated
    report of the unit's schools (unit_id set). Reopening keeps the row (reopened_at) and allows
    a new submission; the newest not-reopened row is the one in force."""

    __tablename__ = "report_submissions"
    # One submission in force per period and school (or unit): the database refuses a second one
    # even when two arrive at the same moment.
    __table_args__ = (
        Index("ix_report_submissions_period", "period", "school_id", "unit_id"),
        Index("uq_report_submissions_school_in_force", "period", "school_id", unique=True,
              sqlite_where=text("reopened_at IS NULL AND school_id IS NOT NULL"),
              postgresql_where=text("reopened_at IS NULL AND school_id IS NOT NULL")),
        Index("uq_report_submissions_unit_in_force", "period", "unit_id", unique=True,
              sqlite_where=text("reopened_at IS NULL AND unit_id IS NOT NULL"),
              postgresql_where=text("reopened_at IS NULL AND unit_id IS NOT NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    school_year: Mapped[str] = mapped_column(String(9))
    period: Mapped[str] = mapped_column(String(40))  # "month:2026-11"
    school_id: Mapped[Optional[int]] = mapped_column(ForeignKey("schools.id"))
    unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("admin_units.id"))
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_on: Mapped[Optional[date]]
    late: Mapped[bool] = mapped_column(default=False)
    reopened_at: Mapped[Optional[datetime]]
    reopened_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    reopen_reason: Mapped[Optional[str]] = mapped_column(Text)

    school: Mapped[Optional[School]] = relationship()
    unit: Mapped[Optional[AdminUnit]] = relationship()
    submitted_by: Mapped[User] = relationship(foreign_keys=[submitted_by_id])
