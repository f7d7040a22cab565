"""check-ins: runs, named responses, and the mood sealed while open and shuffled at close

Revision ID: 0010_checkins
Revises: 0008_person_language
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UtcDateTime

revision: str = "0010_checkins"
down_revision: str | None = "0008_person_language"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NO_ROWID = {
    "sqlite_with_rowid": False
}  # mood rows carry no hidden insertion order (storage/checkin_models.py)


def upgrade() -> None:
    op.create_table(
        "checkin_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "team_id",
            sa.Integer(),
            sa.ForeignKey("teams.id", name=op.f("fk_checkin_runs_team_id_teams"), ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("occurrence_local", sa.String(19), nullable=False),
        sa.Column("run_day", sa.String(10), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("prompts", sa.JSON(), nullable=False),
        sa.Column("mood", sa.Boolean(), nullable=False),
        sa.Column("min_responses", sa.Integer(), nullable=False),
        sa.Column("asked", sa.JSON(), nullable=False),
        sa.Column("opens_at", UtcDateTime(), nullable=False),
        sa.Column("closes_at", UtcDateTime(), nullable=False),
        sa.Column("remind_at", UtcDateTime(), nullable=True),
        sa.Column("reminded", sa.Boolean(), nullable=False),
        sa.Column("digest_posted", sa.Boolean(), nullable=False),
        sa.Column("closed_at", UtcDateTime(), nullable=True),
        sa.Column("respondents", sa.Integer(), nullable=True),
        sa.Column("moods_given", sa.Integer(), nullable=True),
        sa.Column("chart_png", sa.LargeBinary(), nullable=True),
        sa.UniqueConstraint("team_id", "occurrence_local", name="uq_checkin_runs_occurrence"),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_checkin_runs_status")),
    )
    op.create_index("ix_checkin_runs_team", "checkin_runs", ["team_id", "status"])
    op.create_table(
        "checkin_responses",
        sa.Column(
            "run_id",
            sa.Integer(),
            sa.ForeignKey(
                "checkin_runs.id", name=op.f("fk_checkin_responses_run_id_checkin_runs"), ondelete="CASCADE"
            ),
            primary_key=True,
        ),
        sa.Column(
            "person_id",
            sa.Integer(),
            sa.ForeignKey(
                "people.id", name=op.f("fk_checkin_responses_person_id_people"), ondelete="CASCADE"
            ),
            primary_key=True,
        ),
        sa.Column("answers", sa.JSON(), nullable=False),
    )
    op.create_table(
        "checkin_mood_sealed",
        sa.Column(
            "run_id",
            sa.Integer(),
            sa.ForeignKey(
                "checkin_runs.id", name=op.f("fk_checkin_mood_sealed_run_id_checkin_runs"), ondelete="CASCADE"
            ),
            primary_key=True,
        ),
        sa.Column(
            "person_id",
            sa.Integer(),
            sa.ForeignKey(
                "people.id", name=op.f("fk_checkin_mood_sealed_person_id_people"), ondelete="CASCADE"
            ),
            primary_key=True,
        ),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        **NO_ROWID,
    )
    op.create_table(
        "checkin_moods",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "run_id",
            sa.Integer(),
            sa.ForeignKey(
                "checkin_runs.id", name=op.f("fk_checkin_moods_run_id_checkin_runs"), ondelete="CASCADE"
            ),
            nullable=False,
        ),
        sa.Column("value", sa.SmallInteger(), nullable=False),
        **NO_ROWID,
    )
    op.create_index("ix_checkin_moods_run", "checkin_moods", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_checkin_moods_run", table_name="checkin_moods")
    op.drop_table("checkin_moods")
    op.drop_table("checkin_mood_sealed")
    op.drop_table("checkin_responses")
    op.drop_index("ix_checkin_runs_team", table_name="checkin_runs")
    op.drop_table("checkin_runs")
