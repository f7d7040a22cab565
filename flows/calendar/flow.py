"""The team calendar in chat: `away`, `holiday`, `holidays` and `meeting skip|move`.

Anyone says when they are away (nobody asks them anything then); a co-chair keeps the team's holidays, turns
the built-in US federal holidays on or off, and skips or moves one meeting. Every schedule of the team
honours the calendar (flows/core/engine.py, `tick`): a meeting on a holiday is not announced, a moved
meeting is announced at its new time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date, timedelta

from flows.calendar import meeting
from flows.calendar.dates import Refusal, holiday_name, not_past, parse_day, parse_range
from flows.core.actions import ActionHandler
from flows.core.catalog import Words, words
from flows.core.engine import ArrivalHandler, Command, FlowContext, ScheduleHandler
from flows.core.recurrence import utc_to_local, zone
from flows.core.types import Card, CommandEvent, Delivery, Recipient
from storage import calendar as store
from storage import teams
from storage.calendar import Holidays
from storage.teams import MemberView, TeamView

FLOW = "calendar"
HOLIDAYS_AHEAD = timedelta(days=366)  # `holidays` lists the coming year


class Refused(Exception):
    """The speaker was already told why; stop here (nothing stored)."""


Verb = Callable[[FlowContext, TeamView, MemberView, str], Awaitable[None]]


class CalendarFlow:
    name = FLOW

    def commands(self) -> Sequence[Command]:
        return (
            Command(
                "away", "away 2026-12-21..2027-01-04 · away off · away", "calendar.away_command", self._away
            ),
            Command(
                "holiday",
                'holidays · holiday add 2026-12-25 "Winter break" · holiday remove DATE · holiday us on|off',
                "calendar.holiday_command",
                self._holiday,
                ("holidays",),  # aliases
            ),
            Command(
                "meeting",
                "meeting skip DATE · meeting move DATE NEW-DATE",
                "calendar.meeting_command",
                self._meeting,
            ),
        )

    def actions(self) -> dict[str, ActionHandler]:
        return {}

    def schedule_handlers(self) -> dict[str, ScheduleHandler]:
        return {}

    def arrivals(self) -> Sequence[ArrivalHandler]:
        return ()

    # ------------------------------------------------------------ who is speaking, about which team

    async def _run(self, ctx: FlowContext, rest: str, verb: Verb) -> None:
        team, why = await ctx.team_here()
        if team is None or ctx.person is None:
            await ctx.reply(Card.plain(why or words(ctx.person)("core.unknown_person")))
            return
        me = next(
            (m for m in await teams.members(ctx.session, team.id) if m.person_id == ctx.person.id), None
        )
        if me is None:
            await ctx.reply(Card.plain(words(ctx.person, team)("calendar.not_a_member")), team_id=team.id)
            return
        say = words(me, team)
        try:
            await verb(ctx, team, me, rest.strip())
        except Refusal as refusal:
            await ctx.reply(Card.plain(say(refusal.key, **refusal.fields)), team_id=team.id)
        except Refused:
            return

    async def _co_chair_only(self, ctx: FlowContext, team: TeamView, me: MemberView, what: str) -> None:
        if me.co_chair:
            return
        say = words(me, team)
        members = await teams.members(ctx.session, team.id)
        chairs = say("calendar.or").join(m.name for m in members if m.co_chair)
        await ctx.reply(
            Card.plain(say("calendar.only_co_chair", what=say(what), chairs=chairs)), team_id=team.id
        )
        raise Refused

    # ------------------------------------------------------------ away

    async def _away(self, ctx: FlowContext, event: CommandEvent, rest: str) -> None:
        await self._run(ctx, rest, self._away_verb)

    async def _away_verb(self, ctx: FlowContext, team: TeamView, me: MemberView, args: str) -> None:
        say = words(me, team)
        if not args:
            ranges = (await store.away_ranges(ctx.session, team.id)).get(me.person_id, ())
            today = _today(ctx, team)
            coming = [(a, b) for a, b in ranges if b >= today]
            if not coming:
                await ctx.reply(Card.plain(say("calendar.away_none")), team_id=team.id)
                return
            lines = "\n".join(_range_text(a, b, say) for a, b in coming)
            await ctx.reply(Card.plain(say("calendar.away_list", ranges=lines)), team_id=team.id)
            return
        if args.lower() in ("off", "back", "clear"):
            cleared = await store.clear_away(ctx.session, team.id, me.person_id)
            await ctx.audit(team.id, "calendar.away_off", {"ranges": cleared})
            await ctx.reply(Card.plain(say("calendar.away_off")), team_id=team.id)
            return
        first, last = parse_range(args)
        not_past(first, _today(ctx, team))
        await store.add_away(ctx.session, team.id, me.person_id, first, last)
        await ctx.audit(team.id, "calendar.away", {"first": first.isoformat(), "last": last.isoformat()})
        await ctx.reply(
            Card.plain(say("calendar.away_set", range=_range_text(first, last, say))), team_id=team.id
        )

    # ------------------------------------------------------------ holidays

    async def _holiday(self, ctx: FlowContext, event: CommandEvent, rest: str) -> None:
        await self._run(ctx, rest, self._holiday_verb)

    async def _holiday_verb(self, ctx: FlowContext, team: TeamView, me: MemberView, args: str) -> None:
        say = words(me, team)
        verb, _, tail = args.partition(" ")
        verb, tail = verb.lower(), tail.strip()
        if verb in ("", "list"):  # `holidays`, `holiday`, `holiday list`
            await self._holidays(ctx, team, me)
        elif verb == "add":
            await self._co_chair_only(ctx, team, me, "calendar.what.holidays")
            day_text, _, name_text = tail.partition(" ")
            day = parse_day(day_text)
            not_past(day, _today(ctx, team))
            name = holiday_name(name_text)
            if not await store.add_holiday(ctx.session, team.id, day, name):
                existing = (await store.own_holidays(ctx.session, team.id)).get(day, "")
                await ctx.reply(
                    Card.plain(say("calendar.holiday_exists", day=_day_text(day), name=existing)),
                    team_id=team.id,
                )
                return
            await ctx.audit(team.id, "calendar.holiday_added", {"day": day.isoformat(), "name": name})
            await self._tell_team(
                ctx, team, "calendar.holiday_added", day=_day_text(day), name=name, by=me.name
            )
        elif verb == "remove":
            await self._co_chair_only(ctx, team, me, "calendar.what.holidays")
            day = parse_day(tail)
            if not await store.remove_holiday(ctx.session, team.id, day):
                await ctx.reply(
                    Card.plain(say("calendar.holiday_missing", day=_day_text(day))), team_id=team.id
                )
                return
            await ctx.audit(team.id, "calendar.holiday_removed", {"day": day.isoformat()})
            await self._tell_team(ctx, team, "calendar.holiday_removed", day=_day_text(day), by=me.name)
        elif verb == "us":
            switch = tail.lower()
            if switch not in ("on", "off"):
                raise Refusal("calendar.us_on_or_off")
            await self._co_chair_only(ctx, team, me, "calendar.what.holidays")
            await store.set_team_calendar_settings(ctx.session, team.id, us_federal=switch == "on")
            await ctx.audit(team.id, "calendar.us_federal", {"on": switch == "on"})
            key = "calendar.us_on" if switch == "on" else "calendar.us_off"
            await self._tell_team(ctx, team, key, by=me.name)
        else:
            await ctx.reply(Card.plain(say("calendar.holiday_usage", verb=verb)), team_id=team.id)

    async def _holidays(self, ctx: FlowContext, team: TeamView, me: MemberView) -> None:
        say = words(me, team)
        cal = await store.team_calendar(ctx.session, team.id)
        assert isinstance(cal.holidays, Holidays)
        today = _today(ctx, team)
        listed = cal.holidays.between(today, today + HOLIDAYS_AHEAD)
        us = say("calendar.us_included" if cal.holidays.federal else "calendar.us_not_included")
        if not listed:
            await ctx.reply(Card.plain(say("calendar.holidays_none", us=us)), team_id=team.id)
            return
        lines = "\n".join(say("calendar.holiday_line", day=_day_text(d), name=n) for d, n in listed)
        await ctx.reply(Card.plain(say("calendar.holidays_list", lines=lines, us=us)), team_id=team.id)

    # ------------------------------------------------------------ one meeting skipped or moved

    async def _meeting(self, ctx: FlowContext, event: CommandEvent, rest: str) -> None:
        await self._run(ctx, rest, self._meeting_verb)

    async def _meeting_verb(self, ctx: FlowContext, team: TeamView, me: MemberView, args: str) -> None:
        say = words(me, team)
        verb, _, tail = args.partition(" ")
        verb, dates = verb.lower(), tail.split()
        if verb not in ("skip", "move") or len(dates) != (1 if verb == "skip" else 2):
            await ctx.reply(Card.plain(say("calendar.meeting_usage")), team_id=team.id)
            return
        await self._co_chair_only(ctx, team, me, "calendar.what.meeting")
        day = parse_day(dates[0])
        to_day = parse_day(dates[1]) if verb == "move" else None
        today = _today(ctx, team)
        not_past(day, today)
        if to_day is not None:
            not_past(to_day, today)
        change = await meeting.skip_or_move(ctx, team, day, to_day, me.person_id)
        await ctx.audit(
            team.id, f"calendar.meeting_{verb}", {"meeting": change.meeting, "to": change.moved_to}
        )
        if to_day is None:
            await self._tell_team(ctx, team, "calendar.meeting_skipped", when=change.when, by=me.name)
        else:
            await self._tell_team(
                ctx, team, "calendar.meeting_moved", when=change.when, to=change.to_when, by=me.name
            )

    # ------------------------------------------------------------ telling the team

    async def _tell_team(self, ctx: FlowContext, team: TeamView, key: str, **values: str) -> None:
        """A change to the team's calendar, posted to its channels (and confirmed to the speaker)."""
        post = words(team=team)
        await ctx.send(
            Delivery(Recipient.team_channels(team.id), Card.plain(post(key, **values)), team_id=team.id)
        )
        say = words(ctx.person, team)
        await ctx.reply(Card.plain(say("calendar.done", what=say(key, **values))), team_id=team.id)


def _today(ctx: FlowContext, team: TeamView) -> date:
    return utc_to_local(ctx.now, zone(team.timezone)).date()


def _day_text(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


def _range_text(first: date, last: date, say: Words) -> str:
    if first == last:
        return _day_text(first)
    return say("calendar.range", first=_day_text(first), last=_day_text(last))
