"""Who is acting and what they may do: the team, the speaker as a member, co-chairs and the facilitator,
and the channels the team broadcasts to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from flows.core.catalog import Words, words
from flows.core.engine import FlowContext
from flows.core.types import Card, Platform, Recipient
from flows.talking_points.rules import SIDES
from storage import roles, teams
from storage.talking_points import Channel
from storage.teams import MemberView, TeamView


@dataclass(frozen=True)
class Here:
    team: TeamView
    me: MemberView
    members: list[MemberView]
    say: Words

    @property
    def chairs(self) -> list[MemberView]:
        """The co-chairs who approve for a side (labor or management)."""
        return [m for m in self.members if m.co_chair and m.side in SIDES]

    def chair_names(self) -> str:
        return self.say("points.or").join(f"{m.name} ({m.side})" for m in self.chairs)

    def name_of(self, person_id: int | None) -> str:
        return next((m.name for m in self.members if m.person_id == person_id), self.say("points.someone"))


async def _as_member(ctx: FlowContext, team: TeamView) -> Here | None:
    members = await teams.members(ctx.session, team.id)
    me = next((m for m in members if ctx.person is not None and m.person_id == ctx.person.id), None)
    if me is None:
        # not filed under that team: the reply is the outsider's own business, not the team's
        await ctx.reply(Card.plain(words(ctx.person, team)("points.not_a_member")))
        return None
    return Here(team, me, members, words(me, team))


async def here(ctx: FlowContext) -> Here | None:
    """The team a command is about and the speaker on it; None (and a reply saying why) otherwise."""
    team, why = await ctx.team_here()
    if team is None or ctx.person is None:
        await ctx.reply(Card.plain(why or words(ctx.person)("points.unknown_person")))
        return None
    return await _as_member(ctx, team)


async def here_on(ctx: FlowContext, team_id: int) -> Here | None:
    """The same for a button or form about something of team `team_id` (clicked in a DM or a channel)."""
    team = await teams.team_by_id(ctx.session, team_id)
    if team is None or ctx.person is None:
        await ctx.reply(Card.plain(words(ctx.person)("points.unknown_person")))
        return None
    return await _as_member(ctx, team)


async def is_facilitator(ctx: FlowContext, team_id: int, person_id: int) -> bool:
    """Facilitator of the team's latest meeting with roles (flows/meetings)."""
    latest = await roles.latest_meeting(ctx.session, team_id)
    if latest is None:
        return False
    return any(
        r.role == "facilitator" and r.person_id == person_id and not r.passed
        for r in await roles.for_meeting(ctx.session, team_id, latest)
    )


async def may_edit(ctx: FlowContext, who: Here) -> bool:
    return who.me.co_chair or await is_facilitator(ctx, who.team.id, who.me.person_id)


async def broadcast_channels(ctx: FlowContext, team: TeamView) -> list[Channel]:
    """The team file's `broadcast_channels` (a staff channel, a union members' channel, on any platform);
    the team's own channels when it names none."""
    listed = (team.settings or {}).get("broadcast_channels") or []
    if listed:
        return [Channel(str(c["platform"]), str(c["id"]), c.get("name")) for c in listed]
    return [Channel(c.platform, c.address, c.name) for c in await teams.channels_of(ctx.session, team.id)]


def recipient_of(channel: Channel) -> Recipient:
    """A broadcast channel as the outbox addresses it: that conversation, on its platform."""
    return Recipient(kind="conversation", platform=cast(Platform, channel.platform), address=channel.address)
