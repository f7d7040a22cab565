"""people.language: a person's own language for what Tandem says to them (None: their team's)

Revision ID: 0008_person_language
Revises: 0007_local_chat
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_person_language"
down_revision: str | None = "0007_local_chat"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("people", sa.Column("language", sa.String(length=16), nullable=True))


def downgrade() -> None:
    op.drop_column("people", "language")
