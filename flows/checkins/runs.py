"""A check-in run from start to digest: preparing it a day ahead (who is asked, when, in their own zone),
the one reminder, the close, and the digest, posted at close or earlier on a co-chair's request and
updated in place while answers change.

Times: the team's schedule is expanded in the team's zone at the check-in time; the run is prepared
`LEAD` ahead (flows/core/checkin_settings.py) and holds each invitation in the outbox until the check-in
time in its person's zone (storage/calendar.py `person_zones`). A run due on a team holiday moves to the
next working day; a person away that day is not asked (nor reminded). The window closes `window_days`
working days later at the check-in time in the team's zone; the reminder goes `remind_hours` before.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flows.checkins import cards
from flows.core.calendar import add_working_days, is_away, is_working_day, local_moment, next_working_day
from flows.core.catalog import Words, words
from flows.core.checkin_settings import CheckinSettings, rotation
from flows.core.engine import DueOccurrence, FlowContext
from flows.core.formatting import meeting_day, meeting_time
from flows.core.recurrence import Recurrence, from_key, to_key, utc_to_local, zone
from flows.core.types import Card, Delivery, Recipient
from storage import calendar as team_dates
from storage import checkins as store
from storage import schedules, teams
from storage.schedules import ScheduleView
from storage.team_rules import TeamRules, rules_for
from storage.teams import MemberView, TeamView

log = logging.getLogger("tandem.checkins")

FLOW = "checkins"
REMIND_KIND = "checkin.remind"
CLOSE_KIND = "checkin.close"
DEFAULT_MIN_RESPONSES = 5  # the team's minimum for anything anonymous (the pulse poll's setting)
ABSOLUTE_MIN_RESPONSES = 3
MUTED = "muted"  # flow state key: the people who muted check-in reminders
PULSE_SETTINGS = (
    "pulse",
    "settings",
)  # flow state (flow, key) holding the team's minimum for anything anonymous


@dataclass(frozen=True)
class RunRequest:
    """One run to start: the team (with its calendar, members, zones and away days: storage/team_rules.py),
    the schedule's settings, the day it is due, its occurrence key and its number (the prompts' rotation)."""

    team: TeamRules
    settings: CheckinSettings
    due: date
    occurrence: str
    number: int


def digest_key(run_id: int) -> str:
    return f"checkin:{run_id}:digest"


def receipt_key(run_id: int, person_id: int) -> str:
    return f"checkin:{run_id}:receipt:{person_id}"


def closes_text(run: store.Run, team: TeamView) -> str:
    return meeting_time(utc_to_local(run.closes_at, zone(team.timezone)), team.timezone)


def min_responses(pulse_settings: Mapping[str, Any]) -> int:
    """The team's `min_responses` (set with `pulse threshold`: the flow state PULSE_SETTINGS), never below
    the floor."""
    return max(int(pulse_settings.get("min_responses", DEFAULT_MIN_RESPONSES)), ABSOLUTE_MIN_RESPONSES)


async def muted(ctx: FlowContext, team_id: int) -> set[int]:
    return {int(p) for p in (await ctx.load_state(FLOW, team_id, MUTED)).get("people", [])}


class RunLifecycle:
    # ------------------------------------------------------------ preparing a run

    async def _prepare(self, ctx: FlowContext, due: Sequence[DueOccurrence]) -> None:
        """The `checkin.run` occurrences due in one tick (prepared a day ahead; a district's teams are often
        due in the same minute): each starts the run it asks for, all read and written together."""
        teams = await rules_for(ctx.session, [d.schedule.team_id for d in due], *PULSE_SETTINGS)
        requests = []
        for d in due:
            team = teams.get(d.schedule.team_id)
            if team is None:
                continue
            schedule = d.schedule
            # the rotation's place: how many occurrences of this schedule came before (no query needed)
            start = from_key(schedule.dtstart_local)
            number = len(Recurrence(schedule.rrule, start, schedule.timezone).between(start, d.occurrence))
            settings = CheckinSettings.from_data(schedule.settings or {})
            requests.append(RunRequest(team, settings, d.occurrence.date(), to_key(d.occurrence), number))
        await self.start_runs(ctx, requests)

    async def start_runs(self, ctx: FlowContext, requests: Sequence[RunRequest]) -> list[store.Run]:
        """Start each requested run (the runs started; a run its team already has for that occurrence is
        not started again): who is asked and when, in their own zone, the invitations held until then, and
        the run's reminder and close. Four statements however many runs."""
        plans = [_plan(request) for request in requests]
        runs = await store.add_runs(ctx.session, [plan.fields for plan in plans])
        started: list[tuple[_Plan, store.Run]] = [(p, r) for p, r in zip(plans, runs, strict=True) if r]
        invitations: list[tuple[Delivery, datetime | None]] = []
        for plan, run in started:
            team = plan.team
            closes = closes_text(run, team)
            cards_by_language: dict[str, Card] = {}
            for member in plan.asked:
                say = words(member, team)
                if say.lang not in cards_by_language:
                    cards_by_language[say.lang] = cards.invitation(
                        team.name, run.id, run.prompts, run.mood, run.min_responses, closes, say
                    )
                delivery = Delivery(
                    Recipient.person(member.person_id), cards_by_language[say.lang], team_id=team.id
                )
                invitations.append((delivery, plan.moments[member.person_id]))
        await ctx.send_each(invitations)
        await store.add_one_offs(
            ctx.session, [store.OneOffs(run.team_id, run.id, plan.one_offs) for plan, run in started], ctx.now
        )
        for plan, run in started:
            log.info(
                "team %s: check-in %s on %s asks %s member(s)",
                run.team_id,
                run.id,
                run.run_day,
                len(plan.asked),
            )
        return [run for _, run in started]

    # ------------------------------------------------------------ the reminder

    async def _remind(self, ctx: FlowContext, schedule: ScheduleView, occurrence: datetime) -> None:
        await schedules.disable(ctx.session, [schedule.id])
        run = await store.run_by_id(ctx.session, int((schedule.settings or {}).get("run_id", 0)))
        team = await teams.team_by_id(ctx.session, schedule.team_id)
        if run is None or team is None or run.status != store.OPEN or run.reminded:
            return
        await store.mark(ctx.session, run.id, reminded=True)
        answered = await store.respondent_ids(ctx.session, run.id)
        quiet = await muted(ctx, team.id)
        away = await team_dates.away_ranges(ctx.session, team.id)
        today = utc_to_local(ctx.deliver_at or ctx.now, zone(team.timezone)).date()
        by_id = {m.person_id: m for m in await teams.members(ctx.session, team.id)}
        closes = closes_text(run, team)
        count = len(answered & set(run.asked))
        pending = [
            p
            for p in run.asked
            if p not in answered and p not in quiet and p in by_id and not is_away(today, away.get(p, ()))
        ]
        reminders = []
        for person_id in pending:
            say = words(by_id[person_id], team)
            card = cards.reminder(team.name, run.id, count, len(run.asked), closes, say)
            reminders.append((Delivery(Recipient.person(person_id), card, team_id=team.id), None))
        await ctx.send_each(reminders)
        log.info("check-in %s: reminded %s member(s)", run.id, len(pending))

    # ------------------------------------------------------------ the close and the digest

    async def _close(self, ctx: FlowContext, schedule: ScheduleView, occurrence: datetime) -> None:
        await schedules.disable(ctx.session, [schedule.id])
        run = await store.run_by_id(ctx.session, int((schedule.settings or {}).get("run_id", 0)))
        team = await teams.team_by_id(ctx.session, schedule.team_id)
        if run is None or team is None or run.status != store.OPEN:
            return
        await self.close(ctx, team, run)

    async def close(self, ctx: FlowContext, team: TeamView, run: store.Run) -> None:
        """Open the sealed moods (kept only as an unlinkable set, and only when enough), then post the final
        digest, replacing one posted earlier, in this one transaction."""
        at = max(ctx.now, run.closes_at) if ctx.deliver_at else ctx.now
        respondents, moods = await store.close_run(
            ctx.session, ctx.sealer, run.id, now=at, min_moods=run.min_responses
        )
        closed = await store.run_by_id(ctx.session, run.id)
        assert closed is not None
        await self.post_digest(ctx, team, closed)
        await ctx.audit(
            team.id, "checkin.closed", {"run": run.id, "respondents": respondents, "moods": moods}
        )

    async def post_digest(self, ctx: FlowContext, team: TeamView, run: store.Run) -> None:
        """The digest to every channel of the team (Slack and Teams alike), keyed so that a later one
        replaces it in place."""
        card = await self.digest_card(ctx, team, run, words(team=team))
        key = digest_key(run.id)
        await ctx.send(
            Delivery(Recipient.team_channels(team.id), card, team_id=team.id, key=key, replaces=key)
        )
        if not run.digest_posted:
            await store.mark(ctx.session, run.id, digest_posted=True)

    async def digest_card(self, ctx: FlowContext, team: TeamView, run: store.Run, say: Words) -> Card:
        members = await teams.members(ctx.session, team.id)
        names = {m.person_id: m.name for m in members}
        order = {m.person_id: i for i, m in enumerate(members)}
        given = sorted(
            await store.responses(ctx.session, run.id), key=lambda r: order.get(r.person_id, 1 << 30)
        )
        answers = {names.get(r.person_id, "?"): r.answers for r in given}
        day = meeting_day(datetime.fromisoformat(run.run_day))
        mood_line = None
        if run.mood:
            if run.status == store.OPEN:
                mood_line = say("checkins.digest.mood_later")
            else:
                summary = await store.mood_summary(ctx.session, run.id)
                if summary.mean is not None:
                    mood_line = say("checkins.digest.mood", mean=f"{summary.mean:.1f}", count=summary.count)
                else:
                    mood_line = say("checkins.digest.mood_hidden", min=run.min_responses)
        if run.status == store.OPEN:
            closing = say("checkins.digest.so_far", closes=closes_text(run, team))
        else:
            closing = say("checkins.digest.closed")
        return cards.digest(team.name, day, run.prompts, answers, len(run.asked), mood_line, closing, say)


@dataclass(frozen=True)
class _Plan:
    """A run worked out before it is written: its row's fields, who is asked at which instant, and its
    one-off schedules (kind -> instant)."""

    team: TeamView
    fields: dict[str, Any]
    asked: list[MemberView]
    moments: dict[int, datetime]
    one_offs: dict[str, datetime]


def _plan(request: RunRequest) -> _Plan:
    """The day a run is due moves to the next working day when a holiday; a person away that day is not
    asked; each is asked at the check-in time in their own zone; the window closes `window_days` working
    days later in the team's zone; the reminder `remind_hours` before (on the working day before, when that is
    a weekend or a holiday), if after the last one is asked."""
    rules, settings = request.team, request.settings
    team, cal = rules.team, rules.calendar
    day = next_working_day(request.due, cal)
    if day != request.due:
        log.info("team %s: check-in due %s moves to %s (a holiday)", team.id, request.due, day)
    asked = [m for m in rules.members.values() if not is_away(day, rules.away.get(m.person_id, ()))]
    moments = {
        m.person_id: local_moment(day, settings.at, rules.zones.get(m.person_id, team.timezone))
        for m in asked
    }
    closes_at = local_moment(add_working_days(day, settings.window_days, cal), settings.at, team.timezone)
    opens_at = min(moments.values(), default=local_moment(day, settings.at, team.timezone))
    last_asked = max(moments.values(), default=opens_at)
    remind_at = closes_at - timedelta(hours=settings.remind_hours) if settings.remind_hours else None
    if remind_at is not None:  # on a working day: one that falls on a weekend or holiday comes before it
        local = utc_to_local(remind_at, zone(team.timezone))
        remind_day = local.date()
        while remind_day > day and not is_working_day(remind_day, cal):
            remind_day -= timedelta(days=1)
        remind_at = local_moment(remind_day, local.time(), team.timezone)
    if remind_at is not None and remind_at <= last_asked:
        remind_at = None  # a window too short for a reminder after everyone was asked
    fields = {
        "team_id": team.id,
        "occurrence_local": request.occurrence,
        "run_day": day.isoformat(),
        "prompts": list(rotation(settings.prompts, settings.questions, request.number)),
        "mood": settings.mood,
        "min_responses": min_responses(rules.policy),
        "asked": [m.person_id for m in asked],
        "opens_at": opens_at,
        "closes_at": closes_at,
        "remind_at": remind_at,
    }
    one_offs = {
        kind: at for kind, at in ((REMIND_KIND, remind_at), (CLOSE_KIND, closes_at)) if at is not None
    }
    return _Plan(team, fields, asked, moments, one_offs)
