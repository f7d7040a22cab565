"""Running a pulse poll: its settings, opening it (invitations), the daily reminders, the close and the
release to everyone at once, the report and chart, the quarterly opening, and, after close, forgetting the
outbox rows of people's private poll messages (receipts, reminders, notes).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from flows.content.instruments import DEFAULT_INSTRUMENT, Instrument, find_instrument, instrument_from_data
from flows.core.catalog import Words, language_of, words
from flows.core.engine import FlowContext
from flows.core.formatting import meeting_time
from flows.core.home import refresh_homes
from flows.core.recurrence import from_key, local_to_utc, to_key, utc_to_local, zone
from flows.core.team_schedules import set_team_schedule
from flows.core.types import Card, Delivery, Recipient
from flows.pulse import cards
from flows.pulse.chart import render_trend
from flows.pulse.report import (
    ABSOLUTE_MIN_RESPONSES,
    DEFAULT_MIN_RESPONSES,
    SIDES,
    Report,
    build_report,
    enough,
    side_view_allowed,
)
from storage import action_items, images, outbox, schedules, teams
from storage import pulse as store
from storage.pulse import PollView
from storage.schedules import ScheduleView
from storage.teams import TeamView

log = logging.getLogger("tandem.pulse")

FLOW = "pulse"
DAILY_KIND = "pulse.daily"  # one per team while a poll is open: reminders and the close
FORGET_KIND = "pulse.forget"  # after a close: delete the outbox rows of people's private poll messages
FORGET_HOURS = 72  # hourly tries; a row still on its way (a void receipt being retried) waits for the next
DEFAULT_REMIND_DAYS = (3, 5)
MAX_REMINDERS = 2
DEFAULT_DURATION_DAYS = 7


def sealed_size(instrument: Instrument) -> int:
    """The one length every submission to a poll of `instrument` is padded to before it is sealed."""
    items = [(component.id, item.id) for component in instrument.components for item in component.items]
    return store.sealed_size(items, cards.COMMENT_MAX)


def private_prefix(poll_id: int) -> str:
    """The outbox key prefix of every message that says something about one person's participation in a
    poll (receipts, their closing note, reminders, notes): all forgotten after close."""
    return f"pulse:{poll_id}:private:"


def receipt_key(poll_id: int, person_id: int) -> str:
    return f"{private_prefix(poll_id)}receipt:{person_id}"


def closes_text(poll: PollView, team: TeamView) -> str:
    return meeting_time(utc_to_local(poll.closes_at, zone(team.timezone)), team.timezone)


class PollLifecycle:
    """Opening, reminding, closing and releasing; the schedule handlers."""

    # ------------------------------------------------------------ settings

    async def settings(self, ctx: FlowContext, team_id: int) -> dict[str, Any]:
        data = await ctx.load_state(FLOW, team_id, "settings")
        return {
            "min_responses": int(data.get("min_responses", DEFAULT_MIN_RESPONSES)),
            "remind_days": list(data.get("remind_days", DEFAULT_REMIND_DAYS))[:MAX_REMINDERS],
            "duration_days": int(data.get("duration_days", DEFAULT_DURATION_DAYS)),
        }

    async def _save_setting(self, ctx: FlowContext, team_id: int, **values: Any) -> None:
        data = await ctx.load_state(FLOW, team_id, "settings")
        await ctx.save_state(FLOW, team_id, "settings", {**data, **values})

    # ------------------------------------------------------------ opening

    async def open(
        self, ctx: FlowContext, team: TeamView, instrument: Instrument, *, opened_by: int | None
    ) -> PollView:
        settings = await self.settings(ctx, team.id)
        members = await teams.members(ctx.session, team.id)
        floor = max(settings["min_responses"], ABSOLUTE_MIN_RESPONSES)
        sides_ok = all(sum(1 for m in members if m.side == side) >= floor for side in SIDES)
        tz = zone(team.timezone)
        opened_local = utc_to_local(ctx.now, tz).replace(second=0, microsecond=0)
        duration = settings["duration_days"]
        poll = await store.add_poll(
            ctx.session,
            team_id=team.id,
            instrument_id=instrument.id,
            instrument=instrument.to_data(),
            status=store.OPEN,
            min_responses=floor,
            invited=len(members),
            remind_days=settings["remind_days"],
            sides_recorded=sides_ok,
            opened_at=ctx.now,
            opened_local=to_key(opened_local),
            closes_at=local_to_utc(opened_local + timedelta(days=duration), tz),
            opened_by=opened_by,
        )
        rule = f"FREQ=DAILY;COUNT={duration}"
        start = opened_local + timedelta(days=1)
        await set_team_schedule(
            ctx.session,
            team,
            kind=DAILY_KIND,
            rrule=rule,
            start=start,
            settings={"poll_id": poll.id, "misfire_grace_minutes": 7 * 24 * 60},
            now=ctx.now,
        )
        closes = closes_text(poll, team)
        for member in members:
            await ctx.send(
                Delivery(
                    Recipient.person(member.person_id),
                    cards.invitation(instrument, team.name, poll.id, closes, floor, words(member, team)),
                    team_id=team.id,
                )
            )
        say = words(team=team)  # the channel post
        await ctx.send(
            Delivery(
                Recipient.team_channels(team.id),
                Card.plain(say("pulse.opened", instrument=instrument.name, closes=closes, floor=floor)),
                team_id=team.id,
            )
        )
        await ctx.audit(team.id, "pulse.opened", {"poll": poll.id, "instrument": instrument.id})
        await refresh_homes(ctx, team.id)
        return poll

    # ------------------------------------------------------------ reminders and close

    async def _daily(self, ctx: FlowContext, schedule: ScheduleView, occurrence: datetime) -> None:
        poll = await store.poll_by_id(ctx.session, int((schedule.settings or {}).get("poll_id", 0)))
        team = await teams.team_by_id(ctx.session, schedule.team_id)
        if poll is None or team is None or poll.status != store.OPEN:
            await schedules.disable(ctx.session, [schedule.id])
            return
        # The occurrence's own instant decides (the engine may prepare an occurrence just before it is due).
        at = max(ctx.now, local_to_utc(occurrence, zone(schedule.timezone)))
        if at >= poll.closes_at:
            await self.close(ctx, team, poll, at=at)
            return
        day = (occurrence.date() - from_key(poll.opened_local).date()).days
        due = min(sum(1 for d in poll.remind_days if d <= day), MAX_REMINDERS)
        if due > poll.reminders_sent:
            await store.set_reminders_sent(ctx.session, poll.id, due)
            await self.remind(ctx, team, poll)

    async def remind(self, ctx: FlowContext, team: TeamView, poll: PollView) -> int:
        """A private nudge to each member who hasn't answered; the number nudged (never their names)."""
        answered = await store.participant_ids(ctx.session, poll.id)
        instrument = instrument_from_data(poll.instrument)
        closes = closes_text(poll, team)
        pending = [m for m in await teams.members(ctx.session, team.id) if m.person_id not in answered]
        for member in pending:
            await ctx.send(
                Delivery(
                    Recipient.person(member.person_id),
                    cards.invitation(
                        instrument,
                        team.name,
                        poll.id,
                        closes,
                        poll.min_responses,
                        words(member, team),
                        reminder=True,
                    ),
                    team_id=team.id,
                    key=f"{private_prefix(poll.id)}reminder:{member.person_id}",
                )
            )
        log.info("pulse poll %s: reminded %s member(s)", poll.id, len(pending))
        return len(pending)

    async def close(
        self, ctx: FlowContext, team: TeamView, poll: PollView, at: datetime | None = None
    ) -> None:
        """Open the sealed submissions, and release to the channels and each co-chair, in this one
        transaction: the answers are written shuffled (or, below the minimum, never written at all)."""
        instrument = instrument_from_data(poll.instrument)
        answered = await store.participant_ids(ctx.session, poll.id)
        opened = await store.open_sealed(ctx.session, ctx.sealer, poll.id)
        if opened.broken:
            log.error(
                "pulse poll %s: %s sealed submission(s) did not open with this server's key (was "
                "TANDEM_SECRET_KEY changed while the poll was open?); they are not counted",
                poll.id,
                opened.broken,
            )
        respondents = len(opened.submissions)
        ok = enough(respondents, poll.min_responses)
        counts: dict[str | None, int] = {}
        for submission in opened.submissions:
            counts[submission.side] = counts.get(submission.side, 0) + 1
        keep_sides = ok and side_view_allowed(counts, poll.min_responses, poll.sides_recorded)[0]
        if ok:
            await store.write_shuffled(ctx.session, poll.id, opened.submissions, keep_sides=keep_sides)
        poll = await store.close(
            ctx.session,
            poll,
            now=at or ctx.now,
            status=store.RELEASED if ok else store.WITHHELD,
            respondents=respondents,
        )
        dailies = await schedules.for_team(ctx.session, team.id, DAILY_KIND)
        await schedules.disable(ctx.session, (r.id for r in dailies if r.settings.get("poll_id") == poll.id))
        report = await self.report(ctx, poll, counts) if ok else None
        chart = await self.chart(ctx, team, poll) if ok else None
        seed = secrets.randbits(32)  # one comment order for every copy
        in_language: dict[str, Card] = {}

        def card(lang: str) -> Card:
            """The report (or the withheld notice) in one language, built once per language."""
            if lang not in in_language:
                say = Words(lang)
                in_language[lang] = (
                    cards.report_card(report, team.name, self._when(poll, team), chart, seed, say)
                    if report is not None
                    else cards.withheld(instrument, respondents, poll.min_responses, say)
                )
            return in_language[lang]

        members = await teams.members(ctx.session, team.id)
        await ctx.send(
            Delivery(Recipient.team_channels(team.id), card(language_of(team=team)), team_id=team.id)
        )
        for chair in (m for m in members if m.co_chair):
            mine = card(language_of(chair, team))
            await ctx.send(Delivery(Recipient.person(chair.person_id), mine, team_id=team.id))
        by_id = {m.person_id: m for m in members}
        for person_id in sorted(answered):  # the receipt in each person's DM says the poll has closed
            key = receipt_key(poll.id, person_id)
            await ctx.send(
                Delivery(
                    Recipient.person(person_id),
                    cards.receipt_closed(instrument, words(by_id.get(person_id), team)),
                    team_id=team.id,
                    key=key,
                    replaces=key,
                )
            )
        await ctx.audit(
            team.id, "pulse.closed", {"poll": poll.id, "released": ok, "respondents": respondents}
        )
        await self._plan_forget(ctx, team, poll.id)
        await refresh_homes(ctx, team.id)

    async def _plan_forget(self, ctx: FlowContext, team: TeamView, poll_id: int) -> None:
        """From an hour after close, hourly: forget the closed poll's private messages once none is still on
        its way (the void replacements must first find the receipts they replace)."""
        existing = await schedules.for_team(ctx.session, team.id, FORGET_KIND)
        earlier = [
            int(p)
            for row in existing
            if row.enabled
            for p in (row.settings or {}).get("poll_ids", [])
            if int(p) != poll_id
        ]
        rule = f"FREQ=HOURLY;COUNT={FORGET_HOURS}"
        start = utc_to_local(ctx.now, zone(team.timezone)).replace(second=0, microsecond=0) + timedelta(
            hours=1
        )
        await set_team_schedule(
            ctx.session,
            team,
            kind=FORGET_KIND,
            rrule=rule,
            start=start,
            settings={"poll_ids": [*earlier, poll_id], "misfire_grace_minutes": FORGET_HOURS * 60},
            now=ctx.now,
        )

    async def _forget(self, ctx: FlowContext, schedule: ScheduleView, occurrence: datetime) -> None:
        waiting = []
        for poll_id in (schedule.settings or {}).get("poll_ids", []):
            prefix = private_prefix(int(poll_id))
            if await store.outbox_rows_in_flight(ctx.session, prefix):
                waiting.append(int(poll_id))
                continue
            forgotten = await outbox.forget(ctx.session, prefix)
            log.info("pulse poll %s: forgot %s private message(s)", poll_id, forgotten)
        await schedules.set_settings(ctx.session, schedule.id, {**schedule.settings, "poll_ids": waiting})
        if not waiting:
            await schedules.disable(ctx.session, [schedule.id])

    def _when(self, poll: PollView, team: TeamView) -> str:
        closed = poll.closed_at or poll.closes_at
        return meeting_time(utc_to_local(closed, zone(team.timezone)), team.timezone)

    async def report(
        self, ctx: FlowContext, poll: PollView, counts_at_close: dict[str | None, int] | None = None
    ) -> Report:
        """The released report of a closed poll (ValueError for an open or withheld one)."""
        if poll.status != store.RELEASED:
            raise ValueError("results exist only for released polls")
        instrument = instrument_from_data(poll.instrument)
        previous_poll = await store.previous_released(ctx.session, poll)
        previous = await store.component_means(ctx.session, previous_poll.id) if previous_poll else None
        targets: dict[str, list[str]] = {}
        if previous_poll is not None:
            for target in await store.targets_after(ctx.session, previous_poll.id):
                targets.setdefault(target.component_id, []).append(target.text)
        report = build_report(
            instrument,
            respondents=poll.respondents or 0,
            invited=poll.invited,
            min_responses=poll.min_responses,
            counts=await store.value_counts(ctx.session, poll.id),
            side_counts=counts_at_close or await store.side_counts(ctx.session, poll.id),
            sides_recorded=poll.sides_recorded,
            side_means=await store.side_means(ctx.session, poll.id),
            previous=previous,
            targets=targets,
            comments=await store.comments(ctx.session, poll.id),
        )
        return replace(report, follow_through=await self._follow_through(ctx, poll))

    async def _follow_through(self, ctx: FlowContext, poll: PollView) -> tuple[int, int] | None:
        """The team's follow-through in the quarter the poll closed (None when nothing was due)."""
        team = await teams.team_by_id(ctx.session, poll.team_id)
        if team is None:
            return None
        closed = utc_to_local(poll.closed_at or poll.closes_at, zone(team.timezone)).date()
        rate = await action_items.follow_through(ctx.session, team.id, closed, team.timezone)
        return (rate.met, rate.due) if rate.due else None

    async def chart(self, ctx: FlowContext, team: TeamView, poll: PollView) -> str:
        """Draw the team's trend chart up to `poll` and store it with the poll; the card's reference to it
        (the adapters fetch the PNG from the database when they send the card)."""
        instrument = instrument_from_data(poll.instrument)
        points = await store.trend(ctx.session, team.id, poll.instrument_id)
        order = list(dict.fromkeys((p.poll_id, p.closed_at) for p in points))
        labels = [utc_to_local(when, zone(team.timezone)).strftime("%b %Y") for _, when in order]
        means: dict[str, list[float | None]] = {c.id: [None] * len(order) for c in instrument.components}
        index = {poll_id: i for i, (poll_id, _) in enumerate(order)}
        for p in points:
            if p.component_id in means:
                means[p.component_id][index[p.poll_id]] = p.mean
        png = render_trend(instrument, labels, dict(means), f"{team.name}: {instrument.name}")
        await store.store_chart(ctx.session, poll.id, png)
        return images.chart_ref(poll.id)

    async def stored_chart(self, ctx: FlowContext, team: TeamView, poll: PollView) -> str:
        """The reference to a released poll's stored chart, drawn and stored now if it has none (a poll
        released before charts were kept in the database)."""
        if await images.has_chart(ctx.session, poll.id):
            return images.chart_ref(poll.id)
        return await self.chart(ctx, team, poll)

    # ------------------------------------------------------------ quarterly

    async def _quarterly(self, ctx: FlowContext, schedule: ScheduleView, occurrence: datetime) -> None:
        team = await teams.team_by_id(ctx.session, schedule.team_id)
        if team is None:
            return
        if await store.open_poll(ctx.session, team.id) is not None:
            log.info("team %s: quarterly poll skipped, one is still open", team.id)
            return
        wanted = str((schedule.settings or {}).get("instrument", DEFAULT_INSTRUMENT))
        instrument = await find_instrument(ctx.session, team.id, wanted)
        if instrument is None:
            return
        await self.open(ctx, team, instrument, opened_by=None)
