"""pulse: sealed submissions instead of participation and receipts; the schema enforces its rules

Revision ID: 0006_sealed
Revises: 0005_chart_in_db

- `pulse_sealed` replaces `pulse_participation`: one row per person who has answered an open poll, with
  their submission encrypted (storage/sealing.py). Answers reach `pulse_ballots`/`pulse_answers` only at
  close, shuffled. The receipt hashes on ballots and comments go.
- A poll that is open while this migration runs keeps the answers already in the clear tables (they were
  written before); its participation list is dropped, so its members can answer again only through the new
  path (a new answer replaces nothing older). Close such polls before upgrading if that matters.
- CHECK constraints on statuses and sides, a partial unique index for one open poll per team and
  instrument, and an index for the hourly prune of idempotency keys.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_sealed"
down_revision: str | None = "0005_chart_in_db"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Answer tables carry no hidden insertion order on SQLite (see storage/pulse_models.py); a batch
# rebuild on SQLite must keep that.
NO_ROWID = {"sqlite_with_rowid": False}
SIDES = "'labor', 'management', 'board', 'community', 'other'"


def upgrade() -> None:
    op.drop_table("pulse_participation")
    op.create_table(
        "pulse_sealed",
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_pulse_sealed_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["poll_id"],
            ["pulse_polls.id"],
            name=op.f("fk_pulse_sealed_poll_id_pulse_polls"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("poll_id", "person_id", name=op.f("pk_pulse_sealed")),
        **NO_ROWID,
    )
    with op.batch_alter_table("pulse_ballots", table_kwargs=NO_ROWID) as batch:
        batch.drop_constraint("uq_pulse_ballots_receipt_hash", type_="unique")
        batch.drop_column("receipt_hash")
        batch.create_check_constraint("side_group", "side_group IN ('labor', 'management')")
    with op.batch_alter_table("pulse_comments", table_kwargs=NO_ROWID) as batch:
        batch.drop_constraint("uq_pulse_comments_receipt_hash", type_="unique")
        batch.drop_column("receipt_hash")
    with op.batch_alter_table("pulse_polls") as batch:
        batch.create_check_constraint("status", "status IN ('open', 'released', 'withheld')")
    with op.batch_alter_table("memberships") as batch:
        batch.create_check_constraint("side", f"side IN ({SIDES})")
    with op.batch_alter_table("outbox") as batch:
        batch.create_check_constraint("status", "status IN ('pending', 'sending', 'sent', 'failed')")
    op.create_index(
        "uq_pulse_polls_one_open",
        "pulse_polls",
        ["team_id", "instrument_id"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
        sqlite_where=sa.text("status = 'open'"),
    )
    op.create_index("ix_processed_events_processed_at", "processed_events", ["processed_at"])


def downgrade() -> None:
    op.drop_index("ix_processed_events_processed_at", table_name="processed_events")
    op.drop_index("uq_pulse_polls_one_open", table_name="pulse_polls")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint("ck_outbox_status", type_="check")
    with op.batch_alter_table("memberships") as batch:
        batch.drop_constraint("ck_memberships_side", type_="check")
    with op.batch_alter_table("pulse_polls") as batch:
        batch.drop_constraint("ck_pulse_polls_status", type_="check")
    with op.batch_alter_table("pulse_comments", table_kwargs=NO_ROWID) as batch:
        batch.add_column(sa.Column("receipt_hash", sa.String(length=64), nullable=True))
        batch.create_unique_constraint("uq_pulse_comments_receipt_hash", ["receipt_hash"])
    with op.batch_alter_table("pulse_ballots", table_kwargs=NO_ROWID) as batch:
        batch.drop_constraint("ck_pulse_ballots_side_group", type_="check")
        batch.add_column(sa.Column("receipt_hash", sa.String(length=64), nullable=True))
        batch.create_unique_constraint("uq_pulse_ballots_receipt_hash", ["receipt_hash"])
    op.drop_table("pulse_sealed")
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
