"""team data that cannot collide: a channel belongs to one team; a member's name is per team

- `team_channels`: unique on (platform, workspace, address) instead of per team. Should two teams already
  name one channel, the team that answered there until now (the lowest team id) keeps it.
- `memberships.display_name`: the name a team's file gives the person, shown to that team; another team's
  file never renames them. Filled from `people.display_name`.

Revision ID: 0013_team_data
Revises: 0008_person_language
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_team_data"
down_revision: str | None = "0008_person_language"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("tandem.migrations")


def upgrade() -> None:
    op.add_column("memberships", sa.Column("display_name", sa.String(length=200), nullable=True))
    op.execute(
        "UPDATE memberships SET display_name = "
        "(SELECT people.display_name FROM people WHERE people.id = memberships.person_id)"
    )
    duplicates = sa.text(
        "SELECT c.id FROM team_channels c WHERE EXISTS (SELECT 1 FROM team_channels o WHERE "
        "o.platform = c.platform AND o.workspace = c.workspace AND o.address = c.address AND "
        "(o.team_id < c.team_id OR (o.team_id = c.team_id AND o.id < c.id)))"
    )
    ids = [row[0] for row in op.get_bind().execute(duplicates)]
    if ids:
        log.warning("%d channel(s) named by two teams now belong to the first team only", len(ids))
        op.get_bind().execute(
            sa.text("DELETE FROM team_channels WHERE id IN :ids").bindparams(
                sa.bindparam("ids", expanding=True)
            ),
            {"ids": ids},
        )
    with op.batch_alter_table("team_channels", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_team_channels_team_id"), type_="unique")
        batch_op.create_unique_constraint(
            op.f("uq_team_channels_platform"), ["platform", "workspace", "address"]
        )


def downgrade() -> None:
    with op.batch_alter_table("team_channels", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_team_channels_platform"), type_="unique")
        batch_op.create_unique_constraint(
            op.f("uq_team_channels_team_id"), ["team_id", "platform", "workspace", "address"]
        )
    op.drop_column("memberships", "display_name")
