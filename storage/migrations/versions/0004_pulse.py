"""pulse trust polls: polls, participation, ballots, answers, comments, targets

Revision ID: 0004_pulse
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0004_pulse"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Answer tables carry no hidden insertion order on SQLite (see storage/pulse_models.py).
NO_ROWID = {"sqlite_with_rowid": False}


def upgrade() -> None:
    op.create_table(
        "pulse_polls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("instrument_id", sa.String(length=64), nullable=False),
        sa.Column("instrument", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("min_responses", sa.Integer(), nullable=False),
        sa.Column("invited", sa.Integer(), nullable=False),
        sa.Column("remind_days", sa.JSON(), nullable=False),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("sides_recorded", sa.Boolean(), nullable=False),
        sa.Column("opened_at", storage.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("opened_local", sa.String(length=19), nullable=False),
        sa.Column("closes_at", storage.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", storage.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("respondents", sa.Integer(), nullable=True),
        sa.Column("opened_by", sa.Integer(), nullable=True),
        sa.Column("chart_path", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["opened_by"], ["people.id"], name=op.f("fk_pulse_polls_opened_by_people"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_pulse_polls_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pulse_polls")),
    )
    op.create_index(
        "ix_pulse_polls_team", "pulse_polls", ["team_id", "instrument_id", "status"], unique=False
    )
    op.create_table(
        "pulse_participation",
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_pulse_participation_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["poll_id"],
            ["pulse_polls.id"],
            name=op.f("fk_pulse_participation_poll_id_pulse_polls"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("poll_id", "person_id", name=op.f("pk_pulse_participation")),
        **NO_ROWID,
    )
    op.create_table(
        "pulse_ballots",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("side_group", sa.String(length=16), nullable=True),
        sa.Column("receipt_hash", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["poll_id"],
            ["pulse_polls.id"],
            name=op.f("fk_pulse_ballots_poll_id_pulse_polls"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pulse_ballots")),
        sa.UniqueConstraint("receipt_hash", name=op.f("uq_pulse_ballots_receipt_hash")),
        **NO_ROWID,
    )
    op.create_index("ix_pulse_ballots_poll", "pulse_ballots", ["poll_id"], unique=False)
    op.create_table(
        "pulse_answers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("ballot_id", sa.String(length=32), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("component_id", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("value", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ballot_id"],
            ["pulse_ballots.id"],
            name=op.f("fk_pulse_answers_ballot_id_pulse_ballots"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["poll_id"],
            ["pulse_polls.id"],
            name=op.f("fk_pulse_answers_poll_id_pulse_polls"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pulse_answers")),
        **NO_ROWID,
    )
    op.create_index(
        "ix_pulse_answers_poll", "pulse_answers", ["poll_id", "component_id", "item_id"], unique=False
    )
    op.create_index(op.f("ix_pulse_answers_ballot_id"), "pulse_answers", ["ballot_id"], unique=False)
    op.create_table(
        "pulse_comments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("receipt_hash", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["poll_id"],
            ["pulse_polls.id"],
            name=op.f("fk_pulse_comments_poll_id_pulse_polls"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pulse_comments")),
        sa.UniqueConstraint("receipt_hash", name=op.f("uq_pulse_comments_receipt_hash")),
        **NO_ROWID,
    )
    op.create_index("ix_pulse_comments_poll", "pulse_comments", ["poll_id"], unique=False)
    op.create_table(
        "pulse_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("instrument_id", sa.String(length=64), nullable=False),
        sa.Column("after_poll_id", sa.Integer(), nullable=False),
        sa.Column("component_id", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("set_by", sa.Integer(), nullable=True),
        sa.Column("set_at", storage.models.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["after_poll_id"],
            ["pulse_polls.id"],
            name=op.f("fk_pulse_targets_after_poll_id_pulse_polls"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["set_by"], ["people.id"], name=op.f("fk_pulse_targets_set_by_people"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_pulse_targets_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pulse_targets")),
    )
    op.create_index("ix_pulse_targets_team", "pulse_targets", ["team_id", "instrument_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_pulse_targets_team", table_name="pulse_targets")
    op.drop_table("pulse_targets")
    op.drop_index("ix_pulse_comments_poll", table_name="pulse_comments")
    op.drop_table("pulse_comments")
    op.drop_index(op.f("ix_pulse_answers_ballot_id"), table_name="pulse_answers")
    op.drop_index("ix_pulse_answers_poll", table_name="pulse_answers")
    op.drop_table("pulse_answers")
    op.drop_index("ix_pulse_ballots_poll", table_name="pulse_ballots")
    op.drop_table("pulse_ballots")
    op.drop_table("pulse_participation")
    op.drop_index("ix_pulse_polls_team", table_name="pulse_polls")
    op.drop_table("pulse_polls")
