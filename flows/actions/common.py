"""What every part of the actions flow shares: who is speaking on which team, who may change an item,
the team's reminder policy, the weekly digest's schedule, the meeting in progress."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flows.actions.dates import today_in
from flows.actions.policy import Policy
from flows.core.actions import NO_LONGER_IN_USE
from flows.core.catalog import Words, words
from flows.core.engine import FlowContext
from flows.core.recurrence import from_key, local_to_utc, zone
from flows.core.team_schedules import set_team_schedule
from flows.core.types import Card
from storage import action_items as store
from storage import roles as role_store
from storage import schedules, teams
from storage.teams import MemberView, TeamView

FLOW = "actions"
POLICY_KEY = "policy"
DIGEST_KIND = "actions.digest"
DIGEST_RULE = "FREQ=WEEKLY;BYDAY=MO"
DIGEST_AT = time(8, 0)
# An item captured up to this long after a meeting starts came from that meeting; `wrapup` looks back as far.
MEETING_WINDOW = timedelta(hours=4)


@dataclass(frozen=True)
class Where:
    team: TeamView
    me: MemberView
    members: list[MemberView]
    say: Words  # the speaker's language


async def member_here(ctx: FlowContext, team: TeamView | None = None) -> Where | None:
    """The speaker as a member of the team this is about (`team`, else the one `team_here` finds);
    None after replying why not."""
    if team is None:
        team, why = await ctx.team_here()
        if team is None:
            await ctx.reply(Card.plain(why or words(ctx.person)("core.unknown_person")))
            return None
    members = await teams.members(ctx.session, team.id)
    me = next((m for m in members if ctx.person is not None and m.person_id == ctx.person.id), None)
    if me is None:
        await ctx.reply(Card.plain(words(ctx.person, team)("actions.refuse.not_a_member")))
        return None
    return Where(team, me, members, words(me, team))


async def item_here(ctx: FlowContext, value: str | None) -> tuple[Where, store.ItemView] | None:
    """The item a button or form names (its id), and the speaker on its team; None after replying."""
    item = await store.get_item(ctx.session, int(value), lock=True) if value and value.isdigit() else None
    if item is None:
        await ctx.reply(Card.plain(words(ctx.person)(NO_LONGER_IN_USE)))
        return None
    team = await teams.team_by_id(ctx.session, item.team_id)
    if team is None:
        await ctx.reply(Card.plain(words(ctx.person)(NO_LONGER_IN_USE)))
        return None
    where = await member_here(ctx, team)
    return None if where is None else (where, item)


def may_edit(item: store.ItemView, me: MemberView) -> bool:
    """Both co-chairs and every owner may change an item; nobody else."""
    return me.co_chair or me.person_id in item.owner_ids


async def refuse_edit(ctx: FlowContext, where: Where, item: store.ItemView) -> None:
    chairs = ", ".join(m.name for m in where.members if m.co_chair)
    line = where.say(
        "actions.refuse.not_yours", title=item.title, owners=", ".join(item.owner_names), chairs=chairs
    )
    await ctx.reply(Card.plain(line), team_id=where.team.id)


def today(ctx: FlowContext, team: TeamView) -> date:
    return today_in(ctx.now, team.timezone)


async def policy_of(ctx: FlowContext, team_id: int) -> Policy:
    return Policy.from_data(await ctx.load_state(FLOW, team_id, POLICY_KEY))


async def ensure_digest(ctx: FlowContext, team: TeamView) -> None:
    """The weekly digest to the co-chairs starts with the team's first item: Mondays 8:00, team time."""
    if await schedules.for_team(ctx.session, team.id, DIGEST_KIND):
        return
    first = today(ctx, team)
    monday = first + timedelta(days=(7 - first.weekday()) % 7 or 7)
    await set_team_schedule(
        ctx.session,
        team,
        kind=DIGEST_KIND,
        rrule=DIGEST_RULE,
        start=datetime.combine(monday, DIGEST_AT),
        settings={"misfire_grace_minutes": 12 * 60},
        now=ctx.now,
    )


async def meeting_in_progress(ctx: FlowContext, team: TeamView) -> tuple[str, datetime] | None:
    """The meeting (its local key and its start instant) that started within MEETING_WINDOW, if any: the
    latest one whose roles were announced."""
    key = await role_store.latest_meeting(ctx.session, team.id)
    if key is None:
        return None
    start = local_to_utc(from_key(key), zone(team.timezone))
    if start <= ctx.now <= start + MEETING_WINDOW:
        return key, start
    return None
