"""a released poll's chart lives in the database (pulse_polls.chart_png), not in a local chart folder

Revision ID: 0005_chart_in_db
Revises: 0004_pulse

`chart_path` named a file in one server's temp folder; it is dropped, not copied (the file may be gone, or on
another replica). A poll released before this revision gets its chart drawn again and stored the first time
someone asks for its results (`pulse results`).

Both changes are plain ALTER TABLEs, on SQLite too (ADD/DROP COLUMN, SQLite 3.35+): never batch mode here,
whose copy-and-drop of `pulse_polls` would cascade to the ballots and answers of every poll.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_chart_in_db"
down_revision: str | None = "0004_pulse"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("pulse_polls", sa.Column("chart_png", sa.LargeBinary(), nullable=True))
    op.drop_column("pulse_polls", "chart_path")


def downgrade() -> None:
    op.add_column("pulse_polls", sa.Column("chart_path", sa.Text(), nullable=True))
    op.drop_column("pulse_polls", "chart_png")
