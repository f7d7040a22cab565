"""The `pulse` command: start, status, close, results, target, threshold, schedule. Who may do what follows
co-chair parity (DESIGN.md): starting, closing, targets, raising the threshold and scheduling are one
co-chair's call; lowering the threshold needs one co-chair from each side.
"""

from __future__ import annotations

import secrets
from datetime import date

from flows.content.instruments import find_instrument, instrument_from_data, known_names
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
from storage.models import Team
from storage.teams import MemberView

RECENT_POLLS = 4  # `pulse status` lists this many closed polls


class PulseCommands(PollLifecycle):
    # ------------------------------------------------------------ commands

    async def _command(self, ctx: FlowContext, event: CommandEvent, rest: str) -> None:
        team, why = await ctx.team_here()
        if team is None or ctx.person is None:
            await ctx.reply(Card.plain(why or "I don't know you yet."))
            return
        verb, _, args = rest.strip().partition(" ")
        verb = verb.lower() or "status"
        members = await teams.members(ctx.session, team.id)
        me = next((m for m in members if m.person_id == ctx.person.id), None)
        if me is None:
            await ctx.reply(Card.plain("You're not a member of this team."), team_id=team.id)
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
            await ctx.reply(
                Card.plain(
                    f"`pulse {verb}` isn't a pulse command. Try: "
                    + ", ".join(f"`pulse {v}`" for v in handlers)
                ),
                team_id=team.id,
            )
            return
        await handler(ctx, team, me, members, args.strip())

    async def _refuse_unless_co_chair(
        self, ctx: FlowContext, team: Team, me: MemberView, members: list[MemberView], what: str
    ) -> bool:
        if me.co_chair:
            return False
        chairs = " or ".join(m.name for m in members if m.co_chair)
        await ctx.reply(Card.plain(f"Only a co-chair can {what}. Ask {chairs}."), team_id=team.id)
        return True

    async def _start(
        self, ctx: FlowContext, team: Team, me: MemberView, members: list[MemberView], args: str
    ) -> None:
        if await self._refuse_unless_co_chair(ctx, team, me, members, "start a poll"):
            return
        instrument = await find_instrument(ctx.session, team.id, args)
        if instrument is None:
            known = ", ".join(await known_names(ctx.session, team.id))
            await ctx.reply(
                Card.plain(f"I don't know the instrument “{args}”. Known: {known}."), team_id=team.id
            )
            return
        current = await store.open_poll(ctx.session, team.id)
        if current is not None:
            await ctx.reply(
                Card.plain(f"A poll is already open until {closes_text(current, team)}: one at a time."),
                team_id=team.id,
            )
            return
        poll = await self.open(ctx, team, instrument, opened_by=me.person_id)
        await ctx.reply(
            Card.plain(
                f"The {instrument.name} is open until {closes_text(poll, team)}. "
                f"{poll.invited} members got a private invitation. "
                "`pulse status` shows how many have answered (never who)."
            ),
            team_id=team.id,
        )

    async def _status(
        self, ctx: FlowContext, team: Team, me: MemberView, members: list[MemberView], args: str
    ) -> None:
        poll = await store.open_poll(ctx.session, team.id)
        if poll is None:
            await ctx.reply(Card.plain(await self._no_poll_open(ctx, team)), team_id=team.id)
            return
        answered = await store.participation_count(ctx.session, poll.id)
        await ctx.reply(
            Card.plain(
                f"{answered} of {poll.invited} have answered the {poll.instrument['name']}; it closes on "
                f"{closes_text(poll, team)}. Results stay sealed until then (minimum {poll.min_responses})."
            ),
            team_id=team.id,
        )

    async def _no_poll_open(self, ctx: FlowContext, team: Team) -> str:
        """When no poll is open: when the next one opens, and how the last few went (counts only)."""
        lines = ["No poll is open."]
        for row in await schedules.for_team(ctx.session, team.id, QUARTERLY_KIND):
            instrument = await find_instrument(ctx.session, team.id, str(row.settings.get("instrument", "")))
            if row.enabled and row.next_occurrence_local and instrument is not None:
                when = meeting_time(from_key(row.next_occurrence_local), team.timezone)
                lines.append(f"Next: the {instrument.name} opens on {when} (every quarter).")
        past = (await store.closed_polls(ctx.session, team.id))[-RECENT_POLLS:]
        if past:
            lines.append("Recent polls:")
            for closed in reversed(past):
                outcome = "released" if closed.status == store.RELEASED else "withheld: too few answers"
                lines.append(
                    f"• closed {self._when(closed, team)} · {closed.instrument['name']} · "
                    f"{closed.respondents or 0} of {closed.invited} answered · {outcome}"
                )
            lines.append("`pulse results` shows the latest report.")
        else:
            lines.append("The team hasn't run a poll yet: a co-chair starts one with `pulse start`.")
        return "\n".join(lines)

    async def _results(
        self, ctx: FlowContext, team: Team, me: MemberView, members: list[MemberView], args: str
    ) -> None:
        current = await store.open_poll(ctx.session, team.id)
        released = await store.latest_released(ctx.session, team.id)
        lines = []
        if current is not None:
            lines.append(
                f"The {current.instrument['name']} is open: its results come out to everyone at once when it "
                f"closes on {closes_text(current, team)}, not before."
            )
        if released is None:
            lines.append("There are no released results yet.")
            await ctx.reply(Card.plain(" ".join(lines)), team_id=team.id)
            return
        report = await self.report(ctx, released)
        chart = await self.stored_chart(ctx, team, released)
        card = cards.report_card(report, team.name, self._when(released, team), chart, secrets.randbits(32))
        if lines:
            await ctx.reply(Card.plain(" ".join(lines)), team_id=team.id)
        await ctx.reply(card, team_id=team.id)

    async def _close_command(
        self, ctx: FlowContext, team: Team, me: MemberView, members: list[MemberView], args: str
    ) -> None:
        if await self._refuse_unless_co_chair(ctx, team, me, members, "close a poll"):
            return
        poll = await store.open_poll(ctx.session, team.id)
        if poll is None:
            await ctx.reply(Card.plain("No poll is open."), team_id=team.id)
            return
        answered = await store.participation_count(ctx.session, poll.id)
        if not enough(answered, poll.min_responses):
            await ctx.reply(
                Card.plain(
                    f"A poll can close early once {poll.min_responses} have answered ({answered} so far); "
                    f"otherwise it closes on {closes_text(poll, team)}."
                ),
                team_id=team.id,
            )
            return
        await ctx.audit(team.id, "pulse.closed_early", {"poll": poll.id})
        await self.close(ctx, team, poll)

    async def _target(
        self, ctx: FlowContext, team: Team, me: MemberView, members: list[MemberView], args: str
    ) -> None:
        if await self._refuse_unless_co_chair(ctx, team, me, members, "set a team target"):
            return
        poll = await store.latest_released(ctx.session, team.id)
        if poll is None:
            await ctx.reply(
                Card.plain("Targets follow a released report; there is none yet."), team_id=team.id
            )
            return
        instrument = instrument_from_data(poll.instrument)
        word, _, text = args.partition(" ")
        component = next(
            (c for c in instrument.components if word.lower() in (c.id, c.name.split()[0].lower())), None
        )
        if component is None or not text.strip():
            names = ", ".join(f"`{c.id}` ({c.name})" for c in instrument.components)
            await ctx.reply(
                Card.plain(
                    f"Write `pulse target <component> <what we will work on>`, e.g. `pulse target respect We "
                    f"will work on improving how we handle disagreements.` Components: {names}."
                ),
                team_id=team.id,
            )
            return
        existing = await store.targets_after(ctx.session, poll.id)
        if len(existing) >= 2:
            await ctx.reply(Card.plain("The team already has two targets for this round."), team_id=team.id)
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
                Card.plain(f"Team target for {component.name}, set by {me.name}: {text.strip()}"),
                team_id=team.id,
            )
        )
        await ctx.reply(
            Card.plain(
                f"Target set for {component.name}; the next report shows it beside that component's change."
            ),
            team_id=team.id,
        )

    async def _threshold(
        self, ctx: FlowContext, team: Team, me: MemberView, members: list[MemberView], args: str
    ) -> None:
        current = (await self.settings(ctx, team.id))["min_responses"]
        if not args:
            await ctx.reply(
                Card.plain(
                    f"Results need at least {current} answers (never fewer than {ABSOLUTE_MIN_RESPONSES})."
                ),
                team_id=team.id,
            )
            return
        if await self._refuse_unless_co_chair(ctx, team, me, members, "change the anonymity threshold"):
            return
        try:
            wanted = int(args.split()[0])
        except ValueError:
            await ctx.reply(
                Card.plain("Write `pulse threshold <number>`, e.g. `pulse threshold 6`."), team_id=team.id
            )
            return
        if wanted < ABSOLUTE_MIN_RESPONSES:
            await ctx.reply(
                Card.plain(
                    f"The threshold can never be below {ABSOLUTE_MIN_RESPONSES}: "
                    "fewer answers can't stay anonymous."
                ),
                team_id=team.id,
            )
            return
        if wanted >= current:
            await ctx.save_state(FLOW, team.id, "threshold-proposal", {})
            await self._save_setting(ctx, team.id, min_responses=wanted)
            await ctx.audit(team.id, "pulse.threshold", {"from": current, "to": wanted})
            await ctx.reply(
                Card.plain(f"Results now need at least {wanted} answers (from the next poll)."),
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
                    Card.plain(
                        f"The co-chairs of both sides lowered the anonymity threshold from {current} "
                        f"to {wanted} (from the next poll)."
                    ),
                    team_id=team.id,
                )
            )
            await ctx.reply(
                Card.plain(f"Agreed by both sides: results now need at least {wanted} answers."),
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
                        f"{me.name} ({me.side}) proposes lowering {team.name}'s anonymity threshold from "
                        f"{current} to {wanted}. It needs a co-chair from your side too: type "
                        f"`pulse threshold {wanted}` to agree."
                    ),
                    team_id=team.id,
                )
            )
        names = " or ".join(m.name for m in other) or "a co-chair from the other side"
        await ctx.reply(
            Card.plain(
                f"Lowering the threshold needs one co-chair from each side: {names} must run "
                f"`pulse threshold {wanted}` too. Until then it stays at {current}."
            ),
            team_id=team.id,
        )

    async def _schedule(
        self, ctx: FlowContext, team: Team, me: MemberView, members: list[MemberView], args: str
    ) -> None:
        if await self._refuse_unless_co_chair(ctx, team, me, members, "schedule polls"):
            return
        parts = args.split()
        existing = await schedules.for_team(ctx.session, team.id, QUARTERLY_KIND)
        if parts and parts[0].lower() == "off":
            for row in existing:
                row.enabled = False
            await ctx.reply(Card.plain("Quarterly polls are off."), team_id=team.id)
            return
        try:
            first = date.fromisoformat(parts[0]) if parts else None
        except ValueError:
            first = None
        instrument = await find_instrument(ctx.session, team.id, " ".join(parts[1:]))
        if first is None or instrument is None:
            await ctx.reply(
                Card.plain(
                    "Write `pulse schedule YYYY-MM-DD [trust|team|<poll id>]` (every quarter on that "
                    "weekday of the month, e.g. the second Monday, 9 AM) or `pulse schedule off`."
                ),
                team_id=team.id,
            )
            return
        schedule = await set_quarterly_schedule(ctx.session, team, first, instrument.id, ctx.now)
        when = meeting_time(from_key(schedule.next_occurrence_local or ""), team.timezone)
        await ctx.reply(
            Card.plain(f"The {instrument.name} will open every quarter; next on {when}."), team_id=team.id
        )
