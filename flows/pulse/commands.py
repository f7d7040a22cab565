"""The `pulse` command: start, status, close, results, target, threshold, schedule. Who may do what follows
co-chair parity (DESIGN.md): starting, closing, targets, raising the threshold and scheduling are one
co-chair's call; lowering the threshold needs one co-chair from each side.
"""

from __future__ import annotations

import secrets
from datetime import date

from flows.content.instruments import find_instrument, instrument_from_data, known_names
from flows.core.catalog import Words, words
from flows.core.engine import FlowContext
from flows.core.formatting import meeting_time
from flows.core.recurrence import from_key
from flows.core.team_schedules import QUARTERLY_KIND, set_quarterly_schedule
from flows.core.types import Card, CommandEvent, Delivery, Recipient
from flows.pulse import cards
from flows.pulse.lifecycle import FLOW, PollLifecycle, closes_text
from flows.pulse.report import (
    ABSOLUTE_MIN_RESPONSES,
    SIDES,
    enough,
)
from storage import pulse as store
from storage import schedules, teams
from storage.teams import MemberView, TeamView

RECENT_POLLS = 4  # `pulse status` lists this many closed polls


class PulseCommands(PollLifecycle):
    # ------------------------------------------------------------ commands

    async def _command(self, ctx: FlowContext, event: CommandEvent, rest: str) -> None:
        team, why = await ctx.team_here()
        if team is None or ctx.person is None:
            await ctx.reply(Card.plain(why or words(ctx.person)("pulse.unknown_person")))
            return
        verb, _, args = rest.strip().partition(" ")
        verb = verb.lower() or "status"
        members = await teams.members(ctx.session, team.id)
        me = next((m for m in members if m.person_id == ctx.person.id), None)
        if me is None:
            await ctx.reply(Card.plain(words(ctx.person, team)("pulse.not_a_member")), team_id=team.id)
            return
        handlers = {
            "start": self._start,
            "status": self._status,
            "close": self._close_command,
            "results": self._results,
            "target": self._target,
            "threshold": self._threshold,
            "schedule": self._schedule,
        }
        handler = handlers.get(verb)
        if handler is None:
            say = words(me, team)
            verbs = ", ".join(say("pulse.verb", verb=v) for v in handlers)
            await ctx.reply(Card.plain(say("pulse.not_a_verb", verb=verb, verbs=verbs)), team_id=team.id)
            return
        await handler(ctx, team, me, members, args.strip())

    async def _refuse_unless_co_chair(
        self, ctx: FlowContext, team: TeamView, me: MemberView, members: list[MemberView], what: str
    ) -> bool:
        if me.co_chair:
            return False
        say = words(me, team)
        chairs = say("pulse.or").join(m.name for m in members if m.co_chair)
        await ctx.reply(
            Card.plain(say("pulse.only_co_chair", what=say(what), chairs=chairs)), team_id=team.id
        )
        return True

    async def _start(
        self, ctx: FlowContext, team: TeamView, me: MemberView, members: list[MemberView], args: str
    ) -> None:
        if await self._refuse_unless_co_chair(ctx, team, me, members, "pulse.what.start"):
            return
        say = words(me, team)
        instrument = await find_instrument(ctx.session, team.id, args)
        if instrument is None:
            known = ", ".join(await known_names(ctx.session, team.id))
            await ctx.reply(
                Card.plain(say("pulse.unknown_instrument", name=args, known=known)), team_id=team.id
            )
            return
        current = await store.open_poll(ctx.session, team.id)
        if current is not None:
            await ctx.reply(
                Card.plain(say("pulse.already_open", closes=closes_text(current, team))), team_id=team.id
            )
            return
        poll = await self.open(ctx, team, instrument, opened_by=me.person_id)
        started = say(
            "pulse.started", instrument=instrument.name, closes=closes_text(poll, team), invited=poll.invited
        )
        await ctx.reply(Card.plain(started), team_id=team.id)

    async def _status(
        self, ctx: FlowContext, team: TeamView, me: MemberView, members: list[MemberView], args: str
    ) -> None:
        say = words(me, team)
        poll = await store.open_poll(ctx.session, team.id)
        if poll is None:
            await ctx.reply(Card.plain(await self._no_poll_open(ctx, team, say)), team_id=team.id)
            return
        answered = await store.participation_count(ctx.session, poll.id)
        status = say(
            "pulse.status",
            answered=answered,
            invited=poll.invited,
            instrument=poll.instrument["name"],
            closes=closes_text(poll, team),
            min_responses=poll.min_responses,
        )
        await ctx.reply(Card.plain(status), team_id=team.id)

    async def _no_poll_open(self, ctx: FlowContext, team: TeamView, say: Words) -> str:
        """When no poll is open: when the next one opens, and how the last few went (counts only)."""
        lines = [say("pulse.no_poll_open")]
        for row in await schedules.for_team(ctx.session, team.id, QUARTERLY_KIND):
            instrument = await find_instrument(ctx.session, team.id, str(row.settings.get("instrument", "")))
            if row.enabled and row.next_occurrence_local and instrument is not None:
                when = meeting_time(from_key(row.next_occurrence_local), team.timezone)
                lines.append(say("pulse.next_quarterly", instrument=instrument.name, when=when))
        past = (await store.closed_polls(ctx.session, team.id))[-RECENT_POLLS:]
        if past:
            lines.append(say("pulse.recent_polls"))
            for closed in reversed(past):
                released = closed.status == store.RELEASED
                outcome = say("pulse.outcome.released") if released else say("pulse.outcome.withheld")
                lines.append(
                    say(
                        "pulse.recent_poll",
                        when=self._when(closed, team),
                        instrument=closed.instrument["name"],
                        respondents=closed.respondents or 0,
                        invited=closed.invited,
                        outcome=outcome,
                    )
                )
            lines.append(say("pulse.results_hint"))
        else:
            lines.append(say("pulse.never_ran"))
        return "\n".join(lines)

    async def _results(
        self, ctx: FlowContext, team: TeamView, me: MemberView, members: list[MemberView], args: str
    ) -> None:
        say = words(me, team)
        current = await store.open_poll(ctx.session, team.id)
        released = await store.latest_released(ctx.session, team.id)
        lines = []
        if current is not None:
            closes = closes_text(current, team)
            lines.append(say("pulse.results_later", instrument=current.instrument["name"], closes=closes))
        if released is None:
            lines.append(say("pulse.no_results"))
            await ctx.reply(Card.plain(" ".join(lines)), team_id=team.id)
            return
        report = await self.report(ctx, released)
        chart = await self.stored_chart(ctx, team, released)
        when = self._when(released, team)
        card = cards.report_card(report, team.name, when, chart, secrets.randbits(32), say)
        if lines:
            await ctx.reply(Card.plain(" ".join(lines)), team_id=team.id)
        await ctx.reply(card, team_id=team.id)

    async def _close_command(
        self, ctx: FlowContext, team: TeamView, me: MemberView, members: list[MemberView], args: str
    ) -> None:
        if await self._refuse_unless_co_chair(ctx, team, me, members, "pulse.what.close"):
            return
        say = words(me, team)
        poll = await store.open_poll(ctx.session, team.id)
        if poll is None:
            await ctx.reply(Card.plain(say("pulse.no_poll_open")), team_id=team.id)
            return
        answered = await store.participation_count(ctx.session, poll.id)
        if not enough(answered, poll.min_responses):
            early = say(
                "pulse.close_early",
                min_responses=poll.min_responses,
                answered=answered,
                closes=closes_text(poll, team),
            )
            await ctx.reply(Card.plain(early), team_id=team.id)
            return
        await ctx.audit(team.id, "pulse.closed_early", {"poll": poll.id})
        await self.close(ctx, team, poll)

    async def _target(
        self, ctx: FlowContext, team: TeamView, me: MemberView, members: list[MemberView], args: str
    ) -> None:
        if await self._refuse_unless_co_chair(ctx, team, me, members, "pulse.what.target"):
            return
        say = words(me, team)
        poll = await store.latest_released(ctx.session, team.id)
        if poll is None:
            await ctx.reply(Card.plain(say("pulse.target.none_yet")), team_id=team.id)
            return
        instrument = instrument_from_data(poll.instrument)
        word, _, text = args.partition(" ")
        component = next(
            (c for c in instrument.components if word.lower() in (c.id, c.name.split()[0].lower())), None
        )
        if component is None or not text.strip():
            names = ", ".join(
                say("pulse.target.component", id=c.id, name=c.name) for c in instrument.components
            )
            await ctx.reply(Card.plain(say("pulse.target.usage", names=names)), team_id=team.id)
            return
        existing = await store.targets_after(ctx.session, poll.id)
        if len(existing) >= 2:
            await ctx.reply(Card.plain(say("pulse.target.two_already")), team_id=team.id)
            return
        store.add_target(
            ctx.session,
            team_id=team.id,
            instrument_id=poll.instrument_id,
            after_poll_id=poll.id,
            component_id=component.id,
            text=text.strip()[:500],
            set_by=me.person_id,
            now=ctx.now,
        )
        await ctx.audit(team.id, "pulse.target_set", {"poll": poll.id, "component": component.id})
        await ctx.send(
            Delivery(
                Recipient.team_channels(team.id),
                Card.plain(
                    words(team=team)(
                        "pulse.target.announced", component=component.name, name=me.name, text=text.strip()
                    )
                ),
                team_id=team.id,
            )
        )
        await ctx.reply(Card.plain(say("pulse.target.set", component=component.name)), team_id=team.id)

    async def _threshold(
        self, ctx: FlowContext, team: TeamView, me: MemberView, members: list[MemberView], args: str
    ) -> None:
        say = words(me, team)
        current = (await self.settings(ctx, team.id))["min_responses"]
        if not args:
            await ctx.reply(
                Card.plain(say("pulse.threshold.current", current=current, floor=ABSOLUTE_MIN_RESPONSES)),
                team_id=team.id,
            )
            return
        if await self._refuse_unless_co_chair(ctx, team, me, members, "pulse.what.threshold"):
            return
        try:
            wanted = int(args.split()[0])
        except ValueError:
            await ctx.reply(Card.plain(say("pulse.threshold.usage")), team_id=team.id)
            return
        if wanted < ABSOLUTE_MIN_RESPONSES:
            await ctx.reply(
                Card.plain(say("pulse.threshold.floor", floor=ABSOLUTE_MIN_RESPONSES)),
                team_id=team.id,
            )
            return
        if wanted >= current:
            await ctx.save_state(FLOW, team.id, "threshold-proposal", {})
            await self._save_setting(ctx, team.id, min_responses=wanted)
            await ctx.audit(team.id, "pulse.threshold", {"from": current, "to": wanted})
            await ctx.reply(
                Card.plain(say("pulse.threshold.raised", wanted=wanted)),
                team_id=team.id,
            )
            return
        proposal = await ctx.load_state(FLOW, team.id, "threshold-proposal")
        if (
            proposal.get("value") == wanted
            and proposal.get("side") not in (None, me.side)
            and me.side in SIDES
        ):
            await ctx.save_state(FLOW, team.id, "threshold-proposal", {})
            await self._save_setting(ctx, team.id, min_responses=wanted)
            await ctx.audit(team.id, "pulse.threshold", {"from": current, "to": wanted, "joint": True})
            await ctx.send(
                Delivery(
                    Recipient.team_channels(team.id),
                    Card.plain(words(team=team)("pulse.threshold.lowered", current=current, wanted=wanted)),
                    team_id=team.id,
                )
            )
            await ctx.reply(
                Card.plain(say("pulse.threshold.agreed", wanted=wanted)),
                team_id=team.id,
            )
            return
        await ctx.save_state(
            FLOW, team.id, "threshold-proposal", {"value": wanted, "side": me.side, "by": me.person_id}
        )
        other = [m for m in members if m.co_chair and m.side in SIDES and m.side != me.side]
        for chair in other:
            await ctx.send(
                Delivery(
                    Recipient.person(chair.person_id),
                    Card.plain(
                        words(chair, team)(
                            "pulse.threshold.proposal",
                            name=me.name,
                            side=me.side,
                            team=team.name,
                            current=current,
                            wanted=wanted,
                        )
                    ),
                    team_id=team.id,
                )
            )
        names = say("pulse.or").join(m.name for m in other) or say("pulse.threshold.other_side")
        await ctx.reply(
            Card.plain(say("pulse.threshold.needs_both", names=names, wanted=wanted, current=current)),
            team_id=team.id,
        )

    async def _schedule(
        self, ctx: FlowContext, team: TeamView, me: MemberView, members: list[MemberView], args: str
    ) -> None:
        if await self._refuse_unless_co_chair(ctx, team, me, members, "pulse.what.schedule"):
            return
        say = words(me, team)
        parts = args.split()
        existing = await schedules.for_team(ctx.session, team.id, QUARTERLY_KIND)
        if parts and parts[0].lower() == "off":
            await schedules.disable(ctx.session, (row.id for row in existing))
            await ctx.reply(Card.plain(say("pulse.schedule.off")), team_id=team.id)
            return
        try:
            first = date.fromisoformat(parts[0]) if parts else None
        except ValueError:
            first = None
        instrument = await find_instrument(ctx.session, team.id, " ".join(parts[1:]))
        if first is None or instrument is None:
            await ctx.reply(Card.plain(say("pulse.schedule.usage")), team_id=team.id)
            return
        schedule = await set_quarterly_schedule(ctx.session, team, first, instrument.id, ctx.now)
        when = meeting_time(from_key(schedule.next_occurrence_local or ""), team.timezone)
        await ctx.reply(
            Card.plain(say("pulse.schedule.set", instrument=instrument.name, when=when)), team_id=team.id
        )
