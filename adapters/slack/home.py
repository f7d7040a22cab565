"""The App Home tab: the person's teams and their next meetings, and what they can type.

Interim: built here from storage until flows offer a neutral "home" card (see the Slack issue's notes);
it only reads, and only what the person's own `/tandem team` would show them.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flows.engine import Engine
from flows.formatting import meeting_time
from flows.recurrence import from_key
from flows.team_setup import MEETING_KIND
from flows.types import Card, Context, Divider, Element, Fields, Header, Text
from storage import schedules, teams


async def home_card(sessions: async_sessionmaker[AsyncSession], engine: Engine, user_id: str) -> Card:
    elements: list[Element] = [Header("Tandem")]
    async with sessions() as session:
        person = await teams.person_by_identity(session, "slack", user_id)
        mine = await teams.teams_of_person(session, person.id) if person is not None else []
        rows: list[tuple[str, str]] = []
        for team in mine:
            meeting = await schedules.for_team(session, team.id, MEETING_KIND)
            nxt = meeting[0].next_occurrence_local if meeting else None
            rows.append(
                (
                    team.name,
                    f"Next meeting: {meeting_time(from_key(nxt), team.timezone)}"
                    if nxt
                    else "No meeting set",
                )
            )
    if rows:
        elements += [Text("**Your teams**"), Fields(tuple(rows))]
    else:
        elements.append(Text("You're not on a team yet: ask a co-chair to add you."))
    elements.append(Divider())
    elements += [e for e in engine.help_card("/tandem ").elements if not isinstance(e, Header)]
    elements.append(Context("Tandem keeps your team's norms, roles and promises visible."))
    return Card(summary="Tandem", elements=tuple(elements))
