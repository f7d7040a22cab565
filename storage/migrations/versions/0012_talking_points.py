"""talking points (drafts, approvals, published sets) and the decision log with its reopen votes

Revision ID: 0012_talking_points
Revises: 0008_person_language

Five new tables (storage/talking_points_models.py); nothing existing changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UtcDateTime

revision: str = "0012_talking_points"
down_revision: str | None = "0008_person_language"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "talking_point_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("points", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("decision_ids", sa.JSON(), nullable=False),
        sa.Column("corrects_id", sa.Integer(), nullable=True),
        sa.Column("proposed_by", sa.Integer(), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("published_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("published_local_date", sa.String(length=10), nullable=True),
        sa.Column("withdrawn_at", UtcDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('joint', 'labor', 'management')", name=op.f("ck_talking_point_sets_kind")
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'published', 'withdrawn')", name=op.f("ck_talking_point_sets_status")
        ),
        sa.ForeignKeyConstraint(
            ["corrects_id"],
            ["talking_point_sets.id"],
            name=op.f("fk_talking_point_sets_corrects_id_talking_point_sets"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by"],
            ["people.id"],
            name=op.f("fk_talking_point_sets_proposed_by_people"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_talking_point_sets_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_talking_point_sets")),
    )
    op.create_index("ix_talking_point_sets_team_id", "talking_point_sets", ["team_id"], unique=False)
    op.create_table(
        "talking_point_approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("side", sa.String(length=16), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("approved_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_talking_point_approvals_person_id_people"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["set_id"],
            ["talking_point_sets.id"],
            name=op.f("fk_talking_point_approvals_set_id_talking_point_sets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_talking_point_approvals")),
        sa.UniqueConstraint(
            "set_id", "person_id", "text_hash", name=op.f("uq_talking_point_approvals_set_id")
        ),
    )
    op.create_index("ix_talking_point_approvals_set_id", "talking_point_approvals", ["set_id"], unique=False)
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("my_side", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("meeting", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('standing', 'reopened')", name=op.f("ck_decisions_status")),
        sa.CheckConstraint("my_side IN ('labor', 'management')", name=op.f("ck_decisions_my_side")),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["people.id"], name=op.f("fk_decisions_recorded_by_people"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_decisions_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
    )
    op.create_index("ix_decisions_team_id", "decisions", ["team_id"], unique=False)
    op.create_table(
        "decision_reopen_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=True),
        sa.Column("information", sa.Text(), nullable=False),
        sa.Column("electorate", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", UtcDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'passed', 'failed')", name=op.f("ck_decision_reopen_requests_status")
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decisions.id"],
            name=op.f("fk_decision_reopen_requests_decision_id_decisions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["people.id"],
            name=op.f("fk_decision_reopen_requests_requested_by_people"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_reopen_requests")),
    )
    op.create_index(
        "ix_decision_reopen_requests_decision_id", "decision_reopen_requests", ["decision_id"], unique=False
    )
    op.create_table(
        "decision_reopen_votes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("agrees", sa.Boolean(), nullable=False),
        sa.Column("voted_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_decision_reopen_votes_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["decision_reopen_requests.id"],
            name=op.f("fk_decision_reopen_votes_request_id_decision_reopen_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_reopen_votes")),
        sa.UniqueConstraint("request_id", "person_id", name=op.f("uq_decision_reopen_votes_request_id")),
    )
    op.create_index(
        "ix_decision_reopen_votes_request_id", "decision_reopen_votes", ["request_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("decision_reopen_votes")
    op.drop_table("decision_reopen_requests")
    op.drop_table("decisions")
    op.drop_table("talking_point_approvals")
    op.drop_table("talking_point_sets")
