"""Removing a team (`tandem team remove`): every row of the team, found through the schema itself (every
table with a foreign key to `teams`), so a feature's new tables are covered without a list to keep up.

A team's released trust-poll aggregates are its history: they stay (with the team's name and nothing
else) unless the operator asks for them to go too (`include_history`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Table, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Identity, Membership, Person, Team
from storage.pulse_models import PulsePoll
from storage.schema import Base

RELEASED = "released"


@dataclass(frozen=True)
class TeamFootprint:
    members: int
    released_polls: int
    rows: dict[str, int] = field(default_factory=dict)  # table → rows of this team


def _team_tables() -> list[tuple[Table, str]]:
    """(table, column) for every column that refers to teams.id."""
    found = []
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == "teams" and table.name != "teams":
                found.append((table, fk.parent.name))
    return found


async def footprint(session: AsyncSession, team_id: int) -> TeamFootprint:
    rows: dict[str, int] = {}
    for table, column in _team_tables():
        count = (
            await session.execute(select(func.count()).select_from(table).where(table.c[column] == team_id))
        ).scalar_one()
        if count:
            rows[table.name] = int(count)
    released = (
        await session.execute(
            select(func.count()).where(PulsePoll.team_id == team_id, PulsePoll.status == RELEASED)
        )
    ).scalar_one()
    return TeamFootprint(rows.get("memberships", 0), int(released), rows)


async def remove_team(session: AsyncSession, team_id: int, *, include_history: bool) -> int:
    """Delete the team's rows, in the caller's transaction; the released polls kept (0 with
    `include_history`, or when there were none: then the team itself is gone too). People left in no team
    are deleted with their identities."""
    people = list(
        (await session.execute(select(Membership.person_id).where(Membership.team_id == team_id))).scalars()
    )
    keep = 0
    if not include_history:
        keep = int(
            (
                await session.execute(
                    select(func.count()).where(PulsePoll.team_id == team_id, PulsePoll.status == RELEASED)
                )
            ).scalar_one()
        )
    polls: Table = PulsePoll.__table__  # type: ignore[assignment]
    # children first (reverse dependency order), so no table waits on a cascade the other backend lacks
    for table, column in reversed(_team_tables()):
        stmt = delete(table).where(table.c[column] == team_id)
        if keep and table is polls:
            stmt = stmt.where(table.c.status != RELEASED)
        elif keep and table.name == "pulse_targets":
            continue  # targets belong with the released polls they follow
        await session.execute(stmt)
    if keep:
        team = await session.get(Team, team_id)
        assert team is not None
        team.settings = {**(team.settings or {}), "removed": True}
    else:
        await session.execute(delete(Team).where(Team.id == team_id))
    if people:
        still_member = select(Membership.person_id).where(Membership.person_id.in_(people))
        orphans = [p for p in people if p not in set((await session.execute(still_member)).scalars())]
        if orphans:
            await session.execute(delete(Identity).where(Identity.person_id.in_(orphans)))
            await session.execute(delete(Person).where(Person.id.in_(orphans)))
    return keep
