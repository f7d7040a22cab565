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
from storage import pulse, schedules, teams
from storage import roles as role_store
from storage.pulse_models import PulsePoll


async def home_card(session: AsyncSession, person_id: int | None, help_card: Card, now: datetime) -> Card:
    elements: list[Element] = [Header("Tandem")]
    mine = await teams.teams_of_person(session, person_id) if person_id is not None else []
    if not mine:
        elements.append(Text("You're not on a team yet: ask a co-chair to add you."))
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
            pairs.append(("Next meeting", meeting_time(from_key(upcoming), team.timezone)))
            rows = await role_store.for_meeting(session, team.id, upcoming)
            held = [labels.get(r.role, r.role) for r in rows if r.person_id == person_id and not r.passed]
            if rows:
                pairs.append(("Your role", ", ".join(held) or "no role this time"))
            else:
                pairs.append(("Your role", "announced before the meeting"))
        open_poll = await pulse.open_poll(session, team.id)
        if open_poll is not None and person_id is not None:
            answered = await pulse.has_participated(session, open_poll.id, person_id)
            closes = meeting_day(utc_to_local(open_poll.closes_at, tz))
            pairs.append(
                (
                    "Trust poll",
                    f"open until {closes}; "
                    + ("you've answered" if answered else "you haven't answered yet"),
                )
            )
        released = await pulse.latest_released(session, team.id)
        if released is not None:
            pairs.append(("Latest trust results", await _results_line(session, released)))
        elements += [
            Divider(),
            Text(f"**{team.name}**"),
            Fields(tuple(pairs) or (("Status", "nothing yet"),)),
        ]
    elements.append(Divider())
    elements += [e for e in help_card.elements if not isinstance(e, Header)]
    elements.append(Context("Tandem keeps your team's norms, roles and promises visible."))
    return Card(summary="Tandem", elements=tuple(elements))


async def _results_line(session: AsyncSession, poll: PulsePoll) -> str:
    instrument = instrument_from_data(poll.instrument)
    means = await pulse.component_means(session, poll.id)
    when = meeting_day(poll.closed_at.replace(tzinfo=None)) if poll.closed_at else ""
    if poll.status != "released" or not means:
        return f"{when}: not enough responses to protect anonymity"
    parts = [f"{c.name} {means[c.id]:.1f}" for c in instrument.components if c.id in means]
    return f"{when}: " + " · ".join(parts) + f" (of {instrument.scale_max})"


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
