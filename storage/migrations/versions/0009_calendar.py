"""the team calendar: team holidays, away days, per-occurrence schedule exceptions (skip or move)

`people.timezone` (a person's own IANA zone) exists since 0001; a team's working days and its opt-in to
the built-in US federal holidays live in `teams.settings`.

Revision ID: 0009_calendar
Revises: 0008_person_language
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0009_calendar"
down_revision: str | None = "0008_person_language"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "team_holidays",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_team_holidays_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_holidays")),
        sa.UniqueConstraint("team_id", "day", name=op.f("uq_team_holidays_team_id")),
    )
    op.create_table(
        "person_away",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.CheckConstraint("first_day <= last_day", name=op.f("ck_person_away_range_in_order")),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_person_away_person_id_people"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_person_away_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_away")),
    )
    op.create_index("ix_person_away_team", "person_away", ["team_id", "person_id"], unique=False)
    op.create_table(
        "schedule_exceptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("occurrence_local", sa.String(length=19), nullable=False),
        sa.Column("moved_to_local", sa.String(length=19), nullable=True),
        sa.Column("set_by", sa.Integer(), nullable=True),
        sa.Column("set_at", storage.models.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedules.id"],
            name=op.f("fk_schedule_exceptions_schedule_id_schedules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["set_by"], ["people.id"], name=op.f("fk_schedule_exceptions_set_by_people"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_exceptions")),
        sa.UniqueConstraint(
            "schedule_id", "occurrence_local", name=op.f("uq_schedule_exceptions_schedule_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("schedule_exceptions")
    op.drop_index("ix_person_away_team", table_name="person_away")
    op.drop_table("person_away")
    op.drop_table("team_holidays")
