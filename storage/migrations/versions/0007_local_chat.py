"""the local chat page: the messages it showed (kept across restarts) and its clock

Revision ID: 0007_local_chat
Revises: 0006_sealed

Two new tables, written only when the chat page of `tandem serve` is on (storage/local_chat.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UtcDateTime

revision: str = "0007_local_chat"
down_revision: str | None = "0006_sealed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "local_chat_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation", sa.String(length=300), nullable=False),
        sa.Column("private_to", sa.String(length=200), nullable=True),
        sa.Column("author", sa.String(length=200), nullable=True),
        sa.Column("card", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_local_chat_messages")),
    )
    op.create_index(
        "ix_local_chat_messages_conversation", "local_chat_messages", ["conversation", "id"], unique=False
    )
    op.create_table(
        "local_chat_state",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_local_chat_state")),
    )


def downgrade() -> None:
    op.drop_index("ix_local_chat_messages_conversation", table_name="local_chat_messages")
    op.drop_table("local_chat_messages")
    op.drop_table("local_chat_state")
