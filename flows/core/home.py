"""A person's home view (Slack's App Home): their teams, the next meeting and their role in it, the open
trust poll and the latest released results. Equal access to information: it shows only what the
person's own commands would.

Flows call `refresh_homes` when something a home shows changes; that queues a cheap "refresh" for each
member on a platform with a home, and the adapter builds the card with `home_card` when it sends.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from flows.content import meeting_roles
from flows.content.instruments import instrument_from_data
from flows.core.catalog import Words, words
from flows.core.engine import FlowContext
from flows.core.formatting import meeting_day, meeting_time
from flows.core.recurrence import from_key, local_to_utc, utc_to_local, zone
from flows.core.team_schedules import MEETING_KIND, PASS_WINDOW_AFTER_START
from flows.core.types import (
    HOME_PLATFORMS,
    Card,
    Context,
    Delivery,
    Divider,
    Element,
    Fields,
    Header,
    Recipient,
    Text,
)
from storage import action_items, pulse, schedules, teams
from storage import roles as role_store
from storage.pulse import PollView


async def home_card(session: AsyncSession, person_id: int | None, help_card: Card, now: datetime) -> Card:
    mine = await teams.teams_of_person(session, person_id) if person_id is not None else []
    person = await teams.person_by_id(session, person_id) if person_id is not None else None
    say = words(person, mine[0] if mine else None)
    elements: list[Element] = [Header(say("home.title"))]
    if not mine:
        elements.append(Text(say("core.no_team")))
    labels = {r.id: r.label for r in meeting_roles()}
    for team in mine:
        pairs: list[tuple[str, str]] = []
        meeting = await schedules.for_team(session, team.id, MEETING_KIND)
        upcoming = meeting[0].next_occurrence_local if meeting else None
        assigned = await role_store.latest_meeting(session, team.id)
        tz = zone(team.timezone)
        if assigned is not None and local_to_utc(from_key(assigned), tz) + PASS_WINDOW_AFTER_START > now:
            upcoming = assigned  # roles are out for a meeting that is about to start (or just did)
        if upcoming:
            pairs.append((say("home.next_meeting"), meeting_time(from_key(upcoming), team.timezone)))
            rows = await role_store.for_meeting(session, team.id, upcoming)
            held = [labels.get(r.role, r.role) for r in rows if r.person_id == person_id and not r.passed]
            if rows:
                pairs.append((say("home.your_role"), ", ".join(held) or say("home.no_role")))
            else:
                pairs.append((say("home.your_role"), say("home.role_announced_later")))
        open_poll = await pulse.open_poll(session, team.id)
        if open_poll is not None and person_id is not None:
            answered = await pulse.has_participated(session, open_poll.id, person_id)
            closes = meeting_day(utc_to_local(open_poll.closes_at, tz))
            line = "home.poll_open_answered" if answered else "home.poll_open_unanswered"
            pairs.append((say("home.trust_poll"), say(line, closes=closes)))
        released = await pulse.latest_released(session, team.id)
        if released is not None:
            pairs.append((say("home.latest_results"), await _results_line(session, released, say)))
        if person_id is not None:
            pairs.append(
                (say("actions.home.promises"), await _promises_line(session, team.id, person_id, say))
            )
        elements += [
            Divider(),
            Text(say("home.team_name", team=team.name)),
            Fields(tuple(pairs) or ((say("home.status"), say("home.nothing_yet")),)),
        ]
    elements.append(Divider())
    elements += [e for e in help_card.elements if not isinstance(e, Header)]
    elements.append(Context(say("home.footer")))
    return Card(summary=say("home.title"), elements=tuple(elements))


async def _results_line(session: AsyncSession, poll: PollView, say: Words) -> str:
    instrument = instrument_from_data(poll.instrument)
    means = await pulse.component_means(session, poll.id)
    when = meeting_day(poll.closed_at.replace(tzinfo=None)) if poll.closed_at else ""
    if poll.status != "released" or not means:
        return say("home.results_withheld", when=when)
    parts = [f"{c.name} {means[c.id]:.1f}" for c in instrument.components if c.id in means]
    return say("home.results_line", when=when, means=" · ".join(parts), scale_max=instrument.scale_max)


async def _promises_line(session: AsyncSession, team_id: int, person_id: int, say: Words) -> str:
    """The "Your promises" line: how many open items the person owns, and the next one due."""
    mine = await action_items.open_for_person(session, team_id, person_id)
    if not mine:
        return say("actions.home.none")
    first = mine[0]
    due = meeting_day(datetime.combine(first.due, datetime.min.time()))
    return say("actions.home.line", count=len(mine), title=first.title, due=due)


def home_refresh(team_id: int, person_id: int) -> Delivery:
    """Refresh one person's home view (when only their own line changed, say "you've answered")."""
    key = f"home:{person_id}"
    return Delivery(
        Recipient.home(person_id), Card(summary="home", elements=()), team_id=team_id, key=key, replaces=key
    )


async def refresh_homes(ctx: FlowContext, team_id: int) -> None:
    """Queue a home refresh for every member of the team who is on a platform with a home view."""
    for person_id in await teams.member_ids_on(ctx.session, team_id, HOME_PLATFORMS):
        await ctx.send(home_refresh(team_id, person_id))
