"""One head: the Slack and Teams branches (from 0001) and the calendar, check-ins, action items, talking
points, team data and process identity branches (issues 16–19, each from 0008), joined. No schema change:
the next migration revises this one.

Revision ID: 0015_one_head
Revises: 0002_slack, 0003_teams, 0009_calendar, 0010_checkins, 0011_actions, 0012_talking_points,
    0013_team_data, 0014_process_identity
"""

from collections.abc import Sequence

revision: str = "0015_one_head"
down_revision: str | Sequence[str] | None = (
    "0002_slack",
    "0003_teams",
    "0009_calendar",
    "0010_checkins",
    "0011_actions",
    "0012_talking_points",
    "0013_team_data",
    "0014_process_identity",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
