"""occurrence_claims.claimed_at indexed: /healthz says who claimed what lately (issue 19)

Revision ID: 0014_process_identity
Revises: 0008_person_language
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014_process_identity"
down_revision: str | None = "0008_person_language"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_occurrence_claims_claimed_at", "occurrence_claims", ["claimed_at"])


def downgrade() -> None:
    op.drop_index("ix_occurrence_claims_claimed_at", table_name="occurrence_claims")
