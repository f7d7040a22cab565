"""action items: promises with owners and due dates, their history and the reminders sent

Revision ID: 0011_actions
Revises: 0008_person_language

Four new tables (storage/action_models.py); nothing existing changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UtcDateTime

revision: str = "0011_actions"
down_revision: str | None = "0008_person_language"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "action_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("meeting_local", sa.String(length=19), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("done_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("next_remind_at", UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["people.id"], name=op.f("fk_action_items_created_by_people"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_action_items_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_items")),
    )
    op.create_index("ix_action_items_team_status", "action_items", ["team_id", "status", "due"])
    op.create_index("ix_action_items_next_remind", "action_items", ["next_remind_at"])
    op.create_table(
        "action_owners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("touched_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["action_items.id"],
            name=op.f("fk_action_owners_item_id_action_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_action_owners_person_id_people"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_owners")),
        sa.UniqueConstraint("item_id", "person_id", name="uq_action_owners_item_person"),
    )
    op.create_index("ix_action_owners_person_id", "action_owners", ["person_id"])
    op.create_table(
        "action_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("what", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["action_items.id"],
            name=op.f("fk_action_history_item_id_action_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_action_history_person_id_people"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_history")),
    )
    op.create_index("ix_action_history_item", "action_history", ["item_id", "id"])
    op.create_table(
        "action_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["action_items.id"],
            name=op.f("fk_action_reminders_item_id_action_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_action_reminders_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_reminders")),
        sa.UniqueConstraint("item_id", "person_id", "slot", name="uq_action_reminders_item_person_slot"),
    )


def downgrade() -> None:
    op.drop_table("action_reminders")
    op.drop_index("ix_action_history_item", table_name="action_history")
    op.drop_table("action_history")
    op.drop_index("ix_action_owners_person_id", table_name="action_owners")
    op.drop_table("action_owners")
    op.drop_index("ix_action_items_next_remind", table_name="action_items")
    op.drop_index("ix_action_items_team_status", table_name="action_items")
    op.drop_table("action_items")
