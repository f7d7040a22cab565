"""Teams, people, identities, memberships and channels."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage.models import Identity, Membership, Person, Team, TeamChannel


@dataclass(frozen=True)
class MemberView:
    person_id: int
    name: str
    side: str
    co_chair: bool
    position: int
    language: str | None = None  # the person's own language, if they chose one (else the team's)


@dataclass(frozen=True)
class PersonView:
    """A person as flows see them, on no team in particular (each team's name for them is in MemberView)."""

    id: int
    display_name: str
    language: str | None  # the person's own language, if they chose one (else their team's)


def person_view(person: Person) -> PersonView:
    return PersonView(person.id, person.display_name, person.language)


async def person_by_id(session: AsyncSession, person_id: int) -> PersonView | None:
    person = await session.get(Person, person_id)
    return person_view(person) if person is not None else None


async def team_by_name(session: AsyncSession, name: str) -> Team | None:
    stmt = (
        select(Team)
        .where(Team.name == name)
        .options(
            selectinload(Team.memberships).selectinload(Membership.person).selectinload(Person.identities),
            selectinload(Team.channels),
        )
    )
    return (await session.execute(stmt)).scalar_one_or_none()


@dataclass(frozen=True)
class TeamView:
    """A team as flows see it: plain values, read-only (`settings` too). Flows change a team through the
    functions below, never by setting attributes."""

    id: int
    name: str
    timezone: str
    language: str
    settings: Mapping[str, Any]
    created_at: datetime


def team_view(team: Team) -> TeamView:
    return TeamView(
        team.id,
        team.name,
        team.timezone,
        team.language,
        MappingProxyType(dict(team.settings or {})),
        team.created_at,
    )


async def team_by_id(session: AsyncSession, team_id: int) -> TeamView | None:
    team = await session.get(Team, team_id)
    return team_view(team) if team is not None else None


async def find_team(session: AsyncSession, name: str) -> TeamView | None:
    """The team called `name`, as a value (`team_by_name` loads the row with its members, for the CLI)."""
    team = (await session.execute(select(Team).where(Team.name == name))).scalar_one_or_none()
    return team_view(team) if team is not None else None


async def save_team(
    session: AsyncSession,
    *,
    name: str,
    timezone: str,
    language: str,
    settings: Mapping[str, Any],
    drop_settings: Iterable[str] = (),
    now: datetime,
) -> tuple[TeamView, bool]:
    """Create the team `name`, or update its zone, language and the given settings (others kept, those in
    `drop_settings` removed). Returns the team and whether it was created."""
    team = (await session.execute(select(Team).where(Team.name == name))).scalar_one_or_none()
    created = team is None
    if team is None:
        team = Team(name=name, timezone=timezone, language=language, settings=dict(settings), created_at=now)
        session.add(team)
    else:
        merged = {**(team.settings or {}), **settings}
        for key in drop_settings:
            merged.pop(key, None)
        team.timezone, team.language, team.settings = timezone, language, merged
    await session.flush()
    return team_view(team), created


async def update_team_settings(session: AsyncSession, team_id: int, changes: Mapping[str, Any]) -> TeamView:
    """Set some of a team's settings (the others kept); returns the team as it now is."""
    team = await session.get(Team, team_id)
    if team is None:
        raise LookupError(f"no team {team_id}")
    team.settings = {**(team.settings or {}), **changes}
    await session.flush()
    return team_view(team)


async def all_team_names(session: AsyncSession) -> list[str]:
    return list((await session.execute(select(Team.name).order_by(Team.name))).scalars())


async def members(session: AsyncSession, team_id: int) -> list[MemberView]:
    """Members in their stable order (the order the team listed them)."""
    stmt = (
        select(
            Membership.person_id,
            func.coalesce(Membership.display_name, Person.display_name),
            Membership.side,
            Membership.co_chair,
            Membership.position,
            Person.language,
        )
        .join(Person, Person.id == Membership.person_id)
        .where(Membership.team_id == team_id)
        .order_by(Membership.position, Membership.id)
    )
    return [MemberView(*row) for row in (await session.execute(stmt)).all()]


_PERSON_BY_IDENTITY = (  # built once: every inbound event looks its sender up
    select(Person)
    .join(Identity)
    .where(Identity.platform == bindparam("platform"), Identity.user_id == bindparam("user_id"))
    .limit(1)
)


async def _person_row(session: AsyncSession, platform: str, user_id: str) -> Person | None:
    params = {"platform": platform, "user_id": user_id}
    return (await session.execute(_PERSON_BY_IDENTITY, params)).scalar_one_or_none()


async def person_by_identity(session: AsyncSession, platform: str, user_id: str) -> PersonView | None:
    person = await _person_row(session, platform, user_id)
    return person_view(person) if person is not None else None


async def teams_of_person(session: AsyncSession, person_id: int) -> list[TeamView]:
    stmt = select(Team).join(Membership).where(Membership.person_id == person_id).order_by(Team.name)
    return [team_view(t) for t in (await session.execute(stmt)).scalars()]


@dataclass(frozen=True)
class IdentityView:
    """A person's account on one platform, as the outbox addresses it."""

    person_id: int
    platform: str
    workspace: str
    user_id: str
    dm_address: str | None


PEOPLE_PER_QUERY = 10_000  # well under the 32,767 parameters a statement may have on PostgreSQL (asyncpg)
_IDENTITY = select(
    Identity.person_id, Identity.platform, Identity.workspace, Identity.user_id, Identity.dm_address
).order_by(Identity.id)


async def identities_of(session: AsyncSession, person_id: int) -> list[IdentityView]:
    stmt = _IDENTITY.where(Identity.person_id == person_id)
    return [IdentityView(*row) for row in (await session.execute(stmt)).all()]


async def identities_of_people(
    session: AsyncSession, person_ids: Sequence[int]
) -> dict[int, list[IdentityView]]:
    """Every identity of each of `person_ids`, in one query per PEOPLE_PER_QUERY people (a burst of private
    messages: a batch of check-in runs may ask tens of thousands)."""
    ids = list(person_ids)
    out: dict[int, list[IdentityView]] = {}
    for start in range(0, len(ids), PEOPLE_PER_QUERY):
        stmt = _IDENTITY.where(Identity.person_id.in_(ids[start : start + PEOPLE_PER_QUERY]))
        for row in (await session.execute(stmt)).all():
            out.setdefault(row.person_id, []).append(IdentityView(*row))
    return out


@dataclass(frozen=True)
class ChannelView:
    """A channel the team posts to."""

    id: int
    platform: str
    workspace: str
    address: str
    name: str | None


async def channels_of(session: AsyncSession, team_id: int) -> list[ChannelView]:
    stmt = (
        select(
            TeamChannel.id, TeamChannel.platform, TeamChannel.workspace, TeamChannel.address, TeamChannel.name
        )
        .where(TeamChannel.team_id == team_id)
        .order_by(TeamChannel.id)
    )
    return [ChannelView(*row) for row in (await session.execute(stmt)).all()]


async def team_of_channel(session: AsyncSession, platform: str, address: str) -> TeamView | None:
    """The team that posts to this channel, if any (one at most: `team_channels` is unique per channel)."""
    stmt = (
        select(Team)
        .join(TeamChannel, TeamChannel.team_id == Team.id)
        .where(TeamChannel.platform == platform, TeamChannel.address == address)
        .order_by(Team.id)
        .limit(1)
    )
    team = (await session.execute(stmt)).scalar_one_or_none()
    return team_view(team) if team is not None else None


@dataclass(frozen=True)
class ChannelOwner:
    team_id: int
    team_name: str


async def channel_owner(
    session: AsyncSession, platform: str, address: str, workspace: str = ""
) -> ChannelOwner | None:
    """The team this channel belongs to (a channel belongs to at most one team), if any. A team file names
    channels without a workspace (filled in later, storage/slack_users.py): "" matches any workspace."""
    stmt = (
        select(Team.id, Team.name)
        .join(TeamChannel, TeamChannel.team_id == Team.id)
        .where(TeamChannel.platform == platform, TeamChannel.address == address)
        .order_by(Team.id)
        .limit(1)
    )
    if workspace:
        stmt = stmt.where(TeamChannel.workspace.in_([workspace, ""]))
    row = (await session.execute(stmt)).first()
    return ChannelOwner(row[0], row[1]) if row else None


@dataclass(frozen=True)
class NewMember:
    """A person as a team file names them: a name, an email, and their (platform, user id) accounts."""

    name: str
    email: str | None
    identities: Sequence[tuple[str, str]]


async def find_or_create_people(
    session: AsyncSession, members: Sequence[NewMember], now: datetime
) -> list[PersonView]:
    """For each member, in order: the person owning any of their (platform, user id) identities, else a
    new person; the identities they lack are added. Two reads and one insert of identities for the whole
    file, plus one insert per new person (a team file of twenty took about a hundred statements before).

    An existing person keeps their name: the name a team file gives is that team's (`replace_memberships`),
    so one team's file never renames a person for another team."""
    wanted = {pair for member in members for pair in member.identities}
    owners: dict[tuple[str, str], int] = {}
    if wanted:
        stmt = select(Identity.platform, Identity.user_id, Identity.person_id).where(
            tuple_(Identity.platform, Identity.user_id).in_(sorted(wanted))
        )
        owners = {(platform, user): person for platform, user, person in (await session.execute(stmt)).all()}
    found = {
        p.id: p
        for p in (await session.execute(select(Person).where(Person.id.in_(set(owners.values()))))).scalars()
    }
    people: list[Person] = []
    for member in members:
        person = next((found[owners[pair]] for pair in member.identities if pair in owners), None)
        if person is None:
            person = Person(display_name=member.name, email=member.email, created_at=now)
            session.add(person)
        else:
            if person.display_name in ("", *(user for _, user in member.identities)):
                person.display_name = member.name  # only a placeholder so far (the user id)
            person.email = member.email or person.email
        people.append(person)
    await session.flush()
    added = [
        {"person_id": person.id, "platform": platform, "user_id": user_id, "workspace": ""}
        for member, person in zip(members, people, strict=True)
        for platform, user_id in member.identities
        if (platform, user_id) not in owners
    ]
    if added:
        await session.execute(insert(Identity), added)  # one statement for every new identity
    return [person_view(person) for person in people]


async def find_or_create_person(
    session: AsyncSession,
    *,
    name: str,
    email: str | None,
    identities: Sequence[tuple[str, str]],
    now: datetime,
) -> PersonView:
    """The person owning any of these (platform, user id) identities, else a new person; adds the rest."""
    (person,) = await find_or_create_people(session, [NewMember(name, email, identities)], now)
    return person


async def replace_memberships(
    session: AsyncSession,
    team_id: int,
    rows: Sequence[tuple[int, str, bool] | tuple[int, str, bool, str | None]],
    now: datetime,
) -> None:
    """Make the team's members exactly `rows` of (person id, side, co-chair[, the name this team knows them
    by]), keeping join dates."""
    current = {
        m.person_id: m
        for m in (await session.execute(select(Membership).where(Membership.team_id == team_id))).scalars()
    }
    wanted = {row[0] for row in rows}
    for person_id, membership in current.items():
        if person_id not in wanted:
            await session.delete(membership)
    joining: list[dict[str, Any]] = []
    for position, row in enumerate(rows):
        person_id, side, co_chair = row[0], row[1], row[2]
        name = row[3] if len(row) > 3 else None
        existing = current.get(person_id)
        if existing is None:
            joining.append(
                {
                    "team_id": team_id,
                    "person_id": person_id,
                    "side": side,
                    "co_chair": co_chair,
                    "position": position,
                    "joined_at": now,
                    "display_name": name,
                }
            )
        else:
            existing.side, existing.co_chair, existing.position = side, co_chair, position
            existing.display_name = name or existing.display_name
    await session.flush()
    if joining:
        await session.execute(insert(Membership), joining)  # one statement for all who join


async def replace_channels(
    session: AsyncSession, team_id: int, rows: Sequence[tuple[str, str, str | None]]
) -> None:
    """Make the team's channels exactly `rows` of (platform, address, name)."""
    await session.execute(delete(TeamChannel).where(TeamChannel.team_id == team_id))
    for platform, address, name in rows:
        session.add(TeamChannel(team_id=team_id, platform=platform, address=address, name=name, workspace=""))
    await session.flush()


async def member_ids_on(session: AsyncSession, team_id: int, platforms: Sequence[str]) -> list[int]:
    """Members of the team with an identity on one of `platforms`."""
    stmt = (
        select(Membership.person_id)
        .join(Identity, Identity.person_id == Membership.person_id)
        .where(Membership.team_id == team_id, Identity.platform.in_(list(platforms)))
        .distinct()
        .order_by(Membership.person_id)
    )
    return list((await session.execute(stmt)).scalars())
