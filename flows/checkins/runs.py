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
from datetime import date, datetime, timedelta

from flows.checkins import cards
from flows.core.calendar import add_working_days, is_away, local_moment, next_working_day
from flows.core.catalog import Words, words
from flows.core.checkin_settings import CheckinSettings, rotation
from flows.core.engine import FlowContext
from flows.core.formatting import meeting_day, meeting_time
from flows.core.recurrence import Recurrence, from_key, to_key, utc_to_local, zone
from flows.core.types import Card, Delivery, Recipient
from storage import calendar as team_dates
from storage import checkins as store
from storage import flow_state, schedules, teams
from storage.schedules import ScheduleView
from storage.teams import TeamView

log = logging.getLogger("tandem.checkins")

FLOW = "checkins"
REMIND_KIND = "checkin.remind"
CLOSE_KIND = "checkin.close"
DEFAULT_MIN_RESPONSES = 5  # the team's minimum for anything anonymous (the pulse poll's setting)
ABSOLUTE_MIN_RESPONSES = 3
MUTED = "muted"  # flow state key: the people who muted check-in reminders


def digest_key(run_id: int) -> str:
    return f"checkin:{run_id}:digest"


def receipt_key(run_id: int, person_id: int) -> str:
    return f"checkin:{run_id}:receipt:{person_id}"


def closes_text(run: store.Run, team: TeamView) -> str:
    return meeting_time(utc_to_local(run.closes_at, zone(team.timezone)), team.timezone)


async def min_responses(ctx: FlowContext, team_id: int) -> int:
    """The team's `min_responses` (set with `pulse threshold`), never below the floor."""
    data = await flow_state.load(ctx.session, "pulse", team_id, "settings")
    return max(int(data.get("min_responses", DEFAULT_MIN_RESPONSES)), ABSOLUTE_MIN_RESPONSES)


async def muted(ctx: FlowContext, team_id: int) -> set[int]:
    return {int(p) for p in (await ctx.load_state(FLOW, team_id, MUTED)).get("people", [])}


class RunLifecycle:
    # ------------------------------------------------------------ preparing a run

    async def _prepare(self, ctx: FlowContext, schedule: ScheduleView, occurrence: datetime) -> None:
        """The `checkin.run` occurrence (prepared a day ahead): start the run it asks for."""
        team = await teams.team_by_id(ctx.session, schedule.team_id)
        if team is None:
            return
        settings = CheckinSettings.from_data(schedule.settings or {})
        # the rotation's place: how many occurrences of this schedule came before (no query needed)
        start = from_key(schedule.dtstart_local)
        number = len(Recurrence(schedule.rrule, start, schedule.timezone).between(start, occurrence))
        await self.start_run(ctx, team, settings, occurrence.date(), to_key(occurrence), number)

    async def start_run(
        self,
        ctx: FlowContext,
        team: TeamView,
        settings: CheckinSettings,
        due: date,
        occurrence: str,
        number: int | None = None,
    ) -> store.Run | None:
        """Start a run due on `due` (its `number`-th, for the prompts' rotation; else counted)."""
        cal = await team_dates.calendar_of(ctx.session, team)
        day = next_working_day(due, cal)
        if day != due:
            log.info("team %s: check-in due %s moves to %s (a holiday)", team.id, due, day)
        away = await team_dates.away_ranges(ctx.session, team.id)
        zones = await team_dates.person_zones(ctx.session, team.id)
        members = await teams.members(ctx.session, team.id)
        asked = [m for m in members if not is_away(day, away.get(m.person_id, ()))]
        moments = {
            m.person_id: local_moment(day, settings.at, zones.get(m.person_id, team.timezone)) for m in asked
        }
        closes_at = local_moment(add_working_days(day, settings.window_days, cal), settings.at, team.timezone)
        opens_at = min(moments.values(), default=local_moment(day, settings.at, team.timezone))
        last_asked = max(moments.values(), default=opens_at)
        remind_at = closes_at - timedelta(hours=settings.remind_hours) if settings.remind_hours else None
        if remind_at is not None and remind_at <= last_asked:
            remind_at = None  # a window too short for a reminder after everyone was asked
        floor = await min_responses(ctx, team.id)
        if number is None:
            number = await store.run_count(ctx.session, team.id)
        prompts = rotation(settings.prompts, settings.questions, number)
        run = await store.add_run(
            ctx.session,
            team_id=team.id,
            occurrence_local=occurrence,
            run_day=day.isoformat(),
            prompts=list(prompts),
            mood=settings.mood,
            min_responses=floor,
            asked=[m.person_id for m in asked],
            opens_at=opens_at,
            closes_at=closes_at,
            remind_at=remind_at,
        )
        if run is None:
            return None
        closes = closes_text(run, team)
        cards_by_language: dict[str, Card] = {}
        invitations = []
        for member in asked:
            say = words(member, team)
            if say.lang not in cards_by_language:
                cards_by_language[say.lang] = cards.invitation(
                    team.name, run.id, prompts, run.mood, floor, closes, say
                )
            delivery = Delivery(
                Recipient.person(member.person_id), cards_by_language[say.lang], team_id=team.id
            )
            invitations.append((delivery, moments[member.person_id]))
        await ctx.send_each(invitations)
        await store.add_one_offs(
            ctx.session,
            team_id=team.id,
            run_id=run.id,
            when={
                kind: at for kind, at in ((REMIND_KIND, remind_at), (CLOSE_KIND, closes_at)) if at is not None
            },
            now=ctx.now,
        )
        log.info("team %s: check-in %s on %s asks %s member(s)", team.id, run.id, run.run_day, len(asked))
        return run

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
