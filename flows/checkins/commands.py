"""The `checkin` command. Anyone: the status, `mute`/`unmute` (their own reminders), `trend`, `zone` (their
own time zone when the platform does not say it). A co-chair of either side (co-chair parity): `schedule`,
`off`, `prompts`, `questions`, `mood`, `digest` (post the digest so far; it then updates in place).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import replace
from datetime import date, time

from flows.checkins.answers import CheckinAnswers
from flows.checkins.cadence import CadenceError, cadence_rule, is_cadence_word
from flows.checkins.runs import FLOW, MUTED, closes_text, muted
from flows.checkins.trend import Trend
from flows.core.catalog import Words, words
from flows.core.checkin_settings import (
    DEFAULT_RRULE,
    MAX_QUESTIONS,
    RUN_KIND,
    CheckinSettings,
    check,
    library,
    resolve_prompt,
    set_checkin_schedule,
)
from flows.core.engine import FlowContext
from flows.core.formatting import meeting_time, rule_in_words, working_days
from flows.core.recurrence import from_key, utc_to_local, zone
from flows.core.types import Card, CommandEvent
from storage import calendar as team_dates
from storage import checkins as store
from storage import schedules, teams
from storage.schedules import ScheduleView
from storage.teams import MemberView, TeamView

TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class CheckinCommands(CheckinAnswers, Trend):
    async def _command(self, ctx: FlowContext, event: CommandEvent, rest: str) -> None:
        team, why = await ctx.team_here()
        if team is None or ctx.person is None:
            await ctx.reply(Card.plain(why or words(ctx.person)("core.unknown_person")))
            return
        members = await teams.members(ctx.session, team.id)
        me = next((m for m in members if m.person_id == ctx.person.id), None)
        say = words(ctx.person, team)
        if me is None:
            await ctx.reply(Card.plain(say("checkins.not_a_member", team=team.name)), team_id=team.id)
            return
        verb, _, args = rest.strip().partition(" ")
        verb = verb.lower() or "status"
        anyone = {
            "status": self._status,
            "mute": self._mute,
            "unmute": self._unmute,
            "trend": self._trend,
            "zone": self._zone,
        }
        chairs = {
            "schedule": self._schedule,
            "off": self._off,
            "prompts": self._prompts,
            "questions": self._questions,
            "mood": self._mood,
            "digest": self._digest,
        }
        if verb in anyone or (verb == "prompts" and not args.strip()):  # anyone may list the prompts
            await {**anyone, "prompts": self._prompts}[verb](ctx, team, me, say, args.strip())
        elif verb in chairs:
            if not me.co_chair:
                names = say("checkins.or").join(m.name for m in members if m.co_chair)
                await ctx.reply(Card.plain(say("checkins.only_co_chair", chairs=names)), team_id=team.id)
                return
            await chairs[verb](ctx, team, me, say, args.strip())
        else:
            verbs = ", ".join([*anyone, *chairs])
            await ctx.reply(Card.plain(say("checkins.not_a_verb", verb=verb, verbs=verbs)), team_id=team.id)

    # ------------------------------------------------------------ settings

    async def _row(self, ctx: FlowContext, team: TeamView) -> ScheduleView | None:
        rows = await schedules.for_team(ctx.session, team.id, RUN_KIND)
        return rows[0] if rows else None

    async def _settings(self, ctx: FlowContext, team: TeamView) -> tuple[CheckinSettings, bool]:
        row = await self._row(ctx, team)
        if row is None:
            return CheckinSettings(), False
        return CheckinSettings.from_data(row.settings or {}), row.enabled

    async def _save(
        self, ctx: FlowContext, team: TeamView, settings: CheckinSettings, enabled: bool
    ) -> ScheduleView:
        row = await set_checkin_schedule(ctx.session, team, settings, ctx.now)
        if not enabled:  # settings changed while check-ins are off: kept, still off
            await schedules.disable(ctx.session, [row.id])
            row = replace(row, enabled=False)
        await ctx.audit(team.id, "checkin.settings", {**settings.to_data(), "enabled": enabled})
        return row

    def _next(self, row: ScheduleView, team: TeamView) -> str:
        if not row.enabled or not row.next_occurrence_local:
            return ""
        return meeting_time(from_key(row.next_occurrence_local), team.timezone)

    # ------------------------------------------------------------ anyone

    async def _status(self, ctx: FlowContext, team: TeamView, me: MemberView, say: Words, args: str) -> None:
        settings, enabled = await self._settings(ctx, team)
        row = await self._row(ctx, team)
        lines = []
        if enabled and row is not None:
            lines.append(
                say(
                    "checkins.status.schedule",
                    rule=rule_in_words(settings.rrule, say),
                    at=settings.at.strftime("%H:%M"),
                    window=working_days(settings.window_days, say),
                    next=self._next(row, team),
                )
            )
        else:
            lines.append(say("checkins.status.off"))
        for run in await store.runs_of_team(ctx.session, team.id):
            if run.status == store.OPEN and run.opens_at <= ctx.now:
                answered = len(await store.respondent_ids(ctx.session, run.id))
                lines.append(
                    say(
                        "checkins.status.open",
                        answered=answered,
                        asked=len(run.asked),
                        closes=closes_text(run, team),
                    )
                )
        if me.person_id in await muted(ctx, team.id):
            lines.append(say("checkins.status.muted"))
        await ctx.reply(Card.plain("\n".join(lines)), team_id=team.id)

    async def _mute(self, ctx: FlowContext, team: TeamView, me: MemberView, say: Words, args: str) -> None:
        people = await muted(ctx, team.id)
        await ctx.save_state(FLOW, team.id, MUTED, {"people": sorted(people | {me.person_id})})
        await ctx.reply(Card.plain(say("checkins.muted")), team_id=team.id)

    async def _unmute(self, ctx: FlowContext, team: TeamView, me: MemberView, say: Words, args: str) -> None:
        people = await muted(ctx, team.id)
        await ctx.save_state(FLOW, team.id, MUTED, {"people": sorted(people - {me.person_id})})
        await ctx.reply(Card.plain(say("checkins.unmuted")), team_id=team.id)

    async def _zone(self, ctx: FlowContext, team: TeamView, me: MemberView, say: Words, args: str) -> None:
        name = args.split()[0] if args.split() else ""
        try:
            zone(name)
        except ValueError:
            await ctx.reply(Card.plain(say("checkins.zone.unknown", zone=name or "—")), team_id=team.id)
            return
        await team_dates.set_person_timezone(ctx.session, me.person_id, name)
        await ctx.reply(Card.plain(say("checkins.zone.set", zone=name)), team_id=team.id)

    # ------------------------------------------------------------ co-chairs

    async def _schedule(
        self, ctx: FlowContext, team: TeamView, me: MemberView, say: Words, args: str
    ) -> None:
        """`checkin schedule [every other Monday | RRULE] [HH:MM] [YYYY-MM-DD] [window=N] [remind=H]`: what is
        not given stays."""
        settings, _ = await self._settings(ctx, team)
        changes: dict[str, object] = {}
        cadence: list[str] = []  # `every other Tuesday`: flows/checkins/cadence.py
        try:
            for token in args.split():
                lowered = token.lower()
                if "freq=" in lowered:
                    changes["rrule"] = token.removeprefix("RRULE:")
                elif TIME.match(token):
                    hours, minutes = token.split(":")
                    changes["at"] = time(int(hours), int(minutes))
                elif re.match(r"^\d{4}-\d{2}-\d{2}$", token):
                    changes["start"] = date.fromisoformat(token)
                elif lowered.startswith("window="):
                    changes["window_days"] = int(lowered.removeprefix("window="))
                elif lowered.startswith("remind="):
                    changes["remind_hours"] = int(lowered.removeprefix("remind="))
                elif is_cadence_word(token):
                    cadence.append(token)
                else:
                    raise ValueError(say("checkins.schedule.unknown_word", word=token))
            if cadence:
                try:
                    changes["rrule"] = cadence_rule(cadence, str(changes.get("rrule") or settings.rrule))
                except CadenceError as exc:
                    raise ValueError(say("checkins.schedule.unknown_word", word=exc.word)) from None
            wanted = replace(settings, **changes)  # type: ignore[arg-type]
            check(wanted, team.timezone)
            today = utc_to_local(ctx.now, zone(team.timezone)).date()
            if "start" in changes and wanted.start is not None and wanted.start < today:
                raise ValueError(say("checkins.schedule.past", day=wanted.start.isoformat()))
        except ValueError as exc:
            usage = say("checkins.schedule.usage", rule=DEFAULT_RRULE)
            await ctx.reply(Card.plain(f"{exc}\n{usage}"), team_id=team.id)
            return
        row = await self._save(ctx, team, wanted, True)
        await ctx.reply(
            Card.plain(
                say(
                    "checkins.schedule.set",
                    rule=rule_in_words(wanted.rrule, say),
                    at=wanted.at.strftime("%H:%M"),
                    window=working_days(wanted.window_days, say),
                    next=self._next(row, team),
                )
            ),
            team_id=team.id,
        )

    async def _off(self, ctx: FlowContext, team: TeamView, me: MemberView, say: Words, args: str) -> None:
        row = await self._row(ctx, team)
        if row is not None:
            await schedules.disable(ctx.session, [row.id])
            await ctx.audit(team.id, "checkin.off", {})
        await ctx.reply(Card.plain(say("checkins.schedule.off")), team_id=team.id)

    async def _prompts(self, ctx: FlowContext, team: TeamView, me: MemberView, say: Words, args: str) -> None:
        """No args: the library, numbered, and the team's prompts. Else numbers and "own words" (quoted)."""
        settings, enabled = await self._settings(ctx, team)
        if not args:
            shipped = "\n".join(f"{n}. {p}" for n, p in enumerate(library(), 1))
            mine = "\n".join(f"• {p}" for p in settings.prompts)
            await ctx.reply(
                Card.plain(
                    say("checkins.prompts.list", library=shipped, mine=mine, count=settings.questions)
                ),
                team_id=team.id,
            )
            return
        try:
            chosen = tuple(resolve_prompt(item) for item in shlex.split(args))
            wanted = replace(settings, prompts=chosen)
            check(wanted, team.timezone)
        except ValueError as exc:
            await ctx.reply(Card.plain(f"{exc}\n{say('checkins.prompts.usage')}"), team_id=team.id)
            return
        await self._save(ctx, team, wanted, enabled)
        await ctx.reply(Card.plain(say("checkins.prompts.set", count=len(chosen))), team_id=team.id)

    async def _questions(
        self, ctx: FlowContext, team: TeamView, me: MemberView, say: Words, args: str
    ) -> None:
        settings, enabled = await self._settings(ctx, team)
        raw = args.split()[0] if args.split() else ""
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_QUESTIONS:
            await ctx.reply(
                Card.plain(say("checkins.questions.usage", given=raw or "—", max=MAX_QUESTIONS)),
                team_id=team.id,
            )
            return
        await self._save(ctx, team, replace(settings, questions=int(raw)), enabled)
        await ctx.reply(Card.plain(say("checkins.questions.set", count=int(raw))), team_id=team.id)

    async def _mood(self, ctx: FlowContext, team: TeamView, me: MemberView, say: Words, args: str) -> None:
        settings, enabled = await self._settings(ctx, team)
        word = args.lower().strip()
        if word not in ("on", "off"):
            await ctx.reply(Card.plain(say("checkins.mood.usage")), team_id=team.id)
            return
        await self._save(ctx, team, replace(settings, mood=word == "on"), enabled)
        key = "checkins.mood.on" if word == "on" else "checkins.mood.off"
        await ctx.reply(Card.plain(say(key)), team_id=team.id)

    async def _digest(self, ctx: FlowContext, team: TeamView, me: MemberView, say: Words, args: str) -> None:
        open_runs = [
            r
            for r in await store.runs_of_team(ctx.session, team.id)
            if r.status == store.OPEN and r.opens_at <= ctx.now
        ]
        if not open_runs:
            await ctx.reply(Card.plain(say("checkins.digest.no_open_run")), team_id=team.id)
            return
        await self.post_digest(ctx, team, open_runs[-1])
        await ctx.reply(Card.plain(say("checkins.digest.posted")), team_id=team.id)
