"""Pulse trust polls (issue 5): the Relational Trust Self-Assessment on a cadence, anonymous by construction.

A co-chair (or the quarterly schedule) opens a poll; every member gets a private message saying why, who sees
what and when (001:L3537-3540), with a button that opens one form. A submit stores the answers with no link to
the person (storage/pulse_models.py) and records, separately, only that the person answered. Reminders go
privately to those who have not answered. At the deadline, or when a co-chair closes it once the minimum is
reached, the report goes to the team's channels and to each co-chair in one transaction: nobody previews.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from flows import pulse_cards as cards
from flows.content.instruments import DEFAULT_INSTRUMENT, Instrument, instrument_from_data, instruments
from flows.engine import Command, FlowContext, ScheduleHandler
from flows.formatting import meeting_time
from flows.pulse_chart import chart_dir, render_trend
from flows.pulse_report import (
    ABSOLUTE_MIN_RESPONSES,
    DEFAULT_MIN_RESPONSES,
    SIDES,
    Report,
    build_report,
    enough,
    side_view_allowed,
)
from flows.recurrence import Recurrence, from_key, local_to_utc, to_key, utc_to_local, zone
from flows.types import ActionEvent, Card, CommandEvent, Delivery, Recipient
from storage import pulse as store
from storage import schedules, teams
from storage.models import Schedule, Team
from storage.pulse_models import PulsePoll
from storage.teams import MemberView

log = logging.getLogger("tandem.pulse")

FLOW = "pulse"
DAILY_KIND = "pulse.daily"  # one per team while a poll is open: reminders and the close
QUARTERLY_KIND = "pulse.quarterly"  # opens a poll every quarter, in the team's zone
DEFAULT_REMIND_DAYS = (3, 5)
MAX_REMINDERS = 2
DEFAULT_DURATION_DAYS = 7
ALIASES = {
    "trust": "relational-trust",
    "rtsa": "relational-trust",
    "team": "effective-team",
    "eta": "effective-team",
}


def receipt_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _closes_text(poll: PulsePoll, team: Team) -> str:
    return meeting_time(utc_to_local(poll.closes_at, zone(team.timezone)), team.timezone)


class PulseFlow:
    name = FLOW

    def commands(self) -> Sequence[Command]:
        return (
            Command(
                "pulse",
                "pulse start [trust|team] · status · close · results · target · threshold · schedule",
                "Anonymous trust polls: start one (co-chairs), see how many answered, read released results.",
                self._command,
            ),
        )

    def schedule_handlers(self) -> dict[str, ScheduleHandler]:
        return {DAILY_KIND: self._daily, QUARTERLY_KIND: self._quarterly}

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
        instrument = self._instrument(args)
        if instrument is None:
            known = ", ".join(sorted({*instruments(), *ALIASES}))
            await ctx.reply(
                Card.plain(f"I don't know the instrument “{args}”. Known: {known}."), team_id=team.id
            )
            return
        current = await store.open_poll(ctx.session, team.id)
        if current is not None:
            await ctx.reply(
                Card.plain(f"A poll is already open until {_closes_text(current, team)}: one at a time."),
                team_id=team.id,
            )
            return
        poll = await self.open(ctx, team, instrument, opened_by=me.person_id)
        await ctx.reply(
            Card.plain(
                f"The {instrument.name} is open until {_closes_text(poll, team)}. "
                f"{poll.invited} members got a private invitation. "
                "`pulse status` shows how many have answered (never who)."
            ),
            team_id=team.id,
        )

    def _instrument(self, args: str) -> Instrument | None:
        key = args.split()[0].lower() if args else DEFAULT_INSTRUMENT
        return instruments().get(ALIASES.get(key, key))

    async def _status(
        self, ctx: FlowContext, team: Team, me: MemberView, members: list[MemberView], args: str
    ) -> None:
        poll = await store.open_poll(ctx.session, team.id)
        if poll is None:
            released = await store.latest_released(ctx.session, team.id)
            tail = " `pulse results` shows the latest report." if released else ""
            await ctx.reply(Card.plain(f"No poll is open.{tail}"), team_id=team.id)
            return
        answered = await store.participation_count(ctx.session, poll.id)
        await ctx.reply(
            Card.plain(
                f"{answered} of {poll.invited} have answered the {poll.instrument['name']}; it closes on "
                f"{_closes_text(poll, team)}. Results stay sealed until then (minimum {poll.min_responses})."
            ),
            team_id=team.id,
        )

    async def _results(
        self, ctx: FlowContext, team: Team, me: MemberView, members: list[MemberView], args: str
    ) -> None:
        current = await store.open_poll(ctx.session, team.id)
        released = await store.latest_released(ctx.session, team.id)
        lines = []
        if current is not None:
            lines.append(
                f"The {current.instrument['name']} is open: its results come out to everyone at once when it "
                f"closes on {_closes_text(current, team)}, not before."
            )
        if released is None:
            lines.append("There are no released results yet.")
            await ctx.reply(Card.plain(" ".join(lines)), team_id=team.id)
            return
        report = await self.report(ctx, released)
        card = cards.report_card(
            report, team.name, self._when(released, team), released.chart_path, secrets.randbits(32)
        )
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
        answered = await store.ballot_count(ctx.session, poll.id)
        if not enough(answered, poll.min_responses):
            await ctx.reply(
                Card.plain(
                    f"A poll can close early once {poll.min_responses} have answered ({answered} so far); "
                    f"otherwise it closes on {_closes_text(poll, team)}."
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
        instrument = self._instrument(" ".join(parts[1:]))
        if first is None or instrument is None:
            await ctx.reply(
                Card.plain(
                    "Write `pulse schedule YYYY-MM-DD [trust|team]` (quarterly from that date, 9 AM) "
                    "or `pulse schedule off`."
                ),
                team_id=team.id,
            )
            return
        schedule = await set_quarterly_schedule(ctx, team, first, instrument.id)
        when = meeting_time(from_key(schedule.next_occurrence_local or ""), team.timezone)
        await ctx.reply(
            Card.plain(f"The {instrument.name} will open every quarter; next on {when}."), team_id=team.id
        )

    # ------------------------------------------------------------ opening

    async def open(
        self, ctx: FlowContext, team: Team, instrument: Instrument, *, opened_by: int | None
    ) -> PulsePoll:
        settings = await self.settings(ctx, team.id)
        members = await teams.members(ctx.session, team.id)
        floor = max(settings["min_responses"], ABSOLUTE_MIN_RESPONSES)
        sides_ok = all(sum(1 for m in members if m.side == side) >= floor for side in SIDES)
        tz = zone(team.timezone)
        opened_local = utc_to_local(ctx.now, tz).replace(second=0, microsecond=0)
        duration = settings["duration_days"]
        poll = store.add_poll(
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
        await ctx.session.flush()
        rule = f"FREQ=DAILY;COUNT={duration}"
        start = opened_local + timedelta(days=1)
        recurrence = Recurrence(rule, start, team.timezone)
        following = recurrence.first_firing_after(ctx.now)
        await schedules.upsert_for_team(
            ctx.session,
            team_id=team.id,
            kind=DAILY_KIND,
            rrule=rule,
            dtstart_local=to_key(start),
            timezone=team.timezone,
            settings={"poll_id": poll.id, "misfire_grace_minutes": 7 * 24 * 60},
            next_occurrence_local=to_key(following) if following else None,
            next_fire_at=recurrence.fire_at(following) if following else None,
            now=ctx.now,
        )
        closes = _closes_text(poll, team)
        for member in members:
            await ctx.send(
                Delivery(
                    Recipient.person(member.person_id),
                    cards.invitation(instrument, team.name, poll.id, closes, floor),
                    team_id=team.id,
                )
            )
        await ctx.send(
            Delivery(
                Recipient.team_channels(team.id),
                Card.plain(
                    f"The {instrument.name} is open until {closes}: everyone has a private invitation. "
                    "Answers are anonymous; results come out to the whole team at once after it closes, "
                    f"if at least {floor} answer."
                ),
                team_id=team.id,
            )
        )
        await ctx.audit(team.id, "pulse.opened", {"poll": poll.id, "instrument": instrument.id})
        return poll

    # ------------------------------------------------------------ answering

    async def on_action(self, ctx: FlowContext, event: ActionEvent) -> None:
        parts = event.action_id.split(".")
        verb = parts[1] if len(parts) > 1 else ""
        if verb == "answer":
            await self._open_form(ctx, event.value or "", None)
        elif verb == "change":
            poll_id, _, token = (event.value or "").partition(":")
            await self._open_form(ctx, poll_id, token or None)
        elif verb == "submit" and len(parts) == 3:
            await self._submit(ctx, parts[2], None, event.values)
        elif verb == "amend" and len(parts) == 4:
            await self._submit(ctx, parts[2], parts[3], event.values)
        else:
            await self._tell(ctx, "That button is no longer in use.")

    async def _tell(self, ctx: FlowContext, text: str, team_id: int | None = None) -> None:
        """Answer the person privately: in their DM (a form submit has no conversation on Slack)."""
        if ctx.person is not None:
            await ctx.send(Delivery(Recipient.person(ctx.person.id), Card.plain(text), team_id=team_id))
        elif ctx.conversation is not None:
            await ctx.reply(Card.plain(text))

    async def _poll_for(
        self, ctx: FlowContext, poll_ref: str
    ) -> tuple[PulsePoll | None, Team | None, str | None]:
        """The open poll `poll_ref` names and its team, if this person may answer it; else a reason."""
        if ctx.person is None:
            return None, None, "I don't know you yet: ask a co-chair to add you to your team."
        poll = await store.poll_by_id(ctx.session, int(poll_ref)) if poll_ref.isdigit() else None
        if poll is None:
            return None, None, "That poll doesn't exist."
        team = await teams.team_by_id(ctx.session, poll.team_id)
        if team is None:
            return None, None, "That poll doesn't exist."
        members = {m.person_id for m in await teams.members(ctx.session, team.id)}
        if ctx.person.id not in members:
            return None, None, "That poll is for another team."
        if poll.status != store.OPEN or ctx.now >= poll.closes_at:
            return (
                None,
                team,
                f"The {poll.instrument['name']} has closed, so it no longer takes answers. "
                "Nothing was recorded.",
            )
        return poll, team, None

    async def _open_form(self, ctx: FlowContext, poll_ref: str, token: str | None) -> None:
        poll, team, why = await self._poll_for(ctx, poll_ref)
        if poll is None or team is None or ctx.person is None:
            await self._tell(ctx, why or "")
            return
        instrument = instrument_from_data(poll.instrument)
        if token is not None:
            if not await store.receipt_valid(ctx.session, poll.id, receipt_hash(token)):
                await self._tell(
                    ctx, "That receipt is no longer valid, so those answers can't be changed.", team.id
                )
                return
            ctx.open_form(cards.answer_form(instrument, f"{cards.AMEND}.{poll.id}.{token}", amending=True))
            return
        if await store.has_participated(ctx.session, poll.id, ctx.person.id):
            await self._tell(
                ctx,
                "You've already answered this poll. To change your answers, use the button on your receipt.",
                team.id,
            )
            return
        ctx.open_form(cards.answer_form(instrument, f"{cards.SUBMIT}.{poll.id}"))

    def _validate(
        self, instrument: Instrument, values: dict[str, str]
    ) -> tuple[list[tuple[str, str, int]], str | None, str | None]:
        """(answers, comment, None) or ([], None, why the submission is refused)."""
        known = {item.id for item in instrument.items}
        stray = sorted(k for k in values if k not in known and k != cards.COMMENT)
        if stray:
            return (
                [],
                None,
                (
                    f"That form has answers to questions that aren't in this poll ({', '.join(stray)}). "
                    "Nothing was recorded; open the poll from its own invitation."
                ),
            )
        answers = []
        for component in instrument.components:
            for item in component.items:
                raw = (values.get(item.id) or "").strip()
                if not raw:
                    return (
                        [],
                        None,
                        f"Please answer every question (missing: “{item.text}”). Nothing was recorded.",
                    )
                try:
                    value = int(raw)
                except ValueError:
                    value = instrument.scale_min - 1
                if not instrument.scale_min <= value <= instrument.scale_max:
                    return (
                        [],
                        None,
                        (
                            f"“{raw}” isn't on the scale for “{item.text}” ({instrument.scale_min} to "
                            f"{instrument.scale_max}). Nothing was recorded."
                        ),
                    )
                answers.append((component.id, item.id, value))
        comment = " ".join((values.get(cards.COMMENT) or "").split())[: cards.COMMENT_MAX] or None
        return answers, comment, None

    async def _submit(
        self, ctx: FlowContext, poll_ref: str, token: str | None, values: dict[str, str]
    ) -> None:
        poll, team, why = await self._poll_for(ctx, poll_ref)
        if poll is None or team is None or ctx.person is None:
            await self._tell(ctx, why or "", team.id if team else None)
            return
        instrument = instrument_from_data(poll.instrument)
        answers, comment, problem = self._validate(instrument, values)
        if problem:
            await self._tell(ctx, problem, team.id)
            return
        closes = _closes_text(poll, team)
        if token is not None:
            changed = await store.replace_ballot(
                ctx.session,
                poll_id=poll.id,
                receipt_hash=receipt_hash(token),
                answers=answers,
                comment=comment,
            )
            if not changed:
                await self._tell(ctx, "That receipt is no longer valid, so nothing was changed.", team.id)
                return
            new_token = token
        else:
            if not await store.mark_participated(ctx.session, poll.id, ctx.person.id):
                await self._tell(ctx, "You've already answered this poll; your first answers stand.", team.id)
                return
            side = None
            if poll.sides_recorded:
                me = next(
                    m for m in await teams.members(ctx.session, team.id) if m.person_id == ctx.person.id
                )
                side = me.side if me.side in SIDES else None
            new_token = secrets.token_urlsafe(18)
            await store.add_ballot(
                ctx.session,
                poll_id=poll.id,
                side_group=side,
                receipt_hash=receipt_hash(new_token),
                answers=answers,
                comment=comment,
            )
        key = f"pulse:{poll.id}:receipt:{ctx.person.id}"
        await ctx.send(
            Delivery(
                Recipient.person(ctx.person.id),
                cards.receipt(instrument, poll.id, new_token, closes, changed=token is not None),
                team_id=team.id,
                sensitive=True,  # the receipt token must not outlive the send in our outbox
                key=key,
                replaces=key,
            )
        )

    # ------------------------------------------------------------ reminders and close

    async def _daily(self, ctx: FlowContext, schedule: Schedule, occurrence: datetime) -> None:
        poll = await store.poll_by_id(ctx.session, int((schedule.settings or {}).get("poll_id", 0)))
        team = await teams.team_by_id(ctx.session, schedule.team_id)
        if poll is None or team is None or poll.status != store.OPEN:
            schedule.enabled = False
            return
        # The occurrence's own instant decides (the engine may prepare an occurrence just before it is due).
        at = max(ctx.now, local_to_utc(occurrence, zone(schedule.timezone)))
        if at >= poll.closes_at:
            await self.close(ctx, team, poll, at=at)
            return
        day = (occurrence.date() - from_key(poll.opened_local).date()).days
        due = min(sum(1 for d in poll.remind_days if d <= day), MAX_REMINDERS)
        if due > poll.reminders_sent:
            poll.reminders_sent = due
            await self.remind(ctx, team, poll)

    async def remind(self, ctx: FlowContext, team: Team, poll: PulsePoll) -> int:
        """A private nudge to each member who hasn't answered; the number nudged (never their names)."""
        answered = await store.participant_ids(ctx.session, poll.id)
        instrument = instrument_from_data(poll.instrument)
        closes = _closes_text(poll, team)
        pending = [m for m in await teams.members(ctx.session, team.id) if m.person_id not in answered]
        for member in pending:
            await ctx.send(
                Delivery(
                    Recipient.person(member.person_id),
                    cards.invitation(
                        instrument, team.name, poll.id, closes, poll.min_responses, reminder=True
                    ),
                    team_id=team.id,
                )
            )
        log.info("pulse poll %s: reminded %s member(s)", poll.id, len(pending))
        return len(pending)

    async def close(self, ctx: FlowContext, team: Team, poll: PulsePoll, at: datetime | None = None) -> None:
        """Close and release to the channels and each co-chair in this one transaction."""
        instrument = instrument_from_data(poll.instrument)
        respondents = await store.ballot_count(ctx.session, poll.id)
        ok = enough(respondents, poll.min_responses)
        counts = await store.side_counts(ctx.session, poll.id)
        keep_sides = ok and side_view_allowed(counts, poll.min_responses, poll.sides_recorded)[0]
        answered = await store.participant_ids(ctx.session, poll.id)
        await store.close(
            ctx.session,
            poll,
            now=at or ctx.now,
            status=store.RELEASED if ok else store.WITHHELD,
            keep_sides=keep_sides,
            respondents=respondents,
        )
        for row in await schedules.for_team(ctx.session, team.id, DAILY_KIND):
            if (row.settings or {}).get("poll_id") == poll.id:
                row.enabled = False
        if ok:
            report = await self.report(ctx, poll, counts)
            poll.chart_path = await self.chart(ctx, team, poll)
            card = cards.report_card(
                report, team.name, self._when(poll, team), poll.chart_path, secrets.randbits(32)
            )
        else:
            card = cards.withheld(instrument, respondents, poll.min_responses)
        members = await teams.members(ctx.session, team.id)
        await ctx.send(Delivery(Recipient.team_channels(team.id), card, team_id=team.id))
        for chair in (m for m in members if m.co_chair):
            await ctx.send(Delivery(Recipient.person(chair.person_id), card, team_id=team.id))
        for person_id in answered:  # void the receipts in people's own messages too
            key = f"pulse:{poll.id}:receipt:{person_id}"
            await ctx.send(
                Delivery(
                    Recipient.person(person_id),
                    cards.receipt_void(instrument),
                    team_id=team.id,
                    key=key,
                    replaces=key,
                )
            )
        await ctx.audit(
            team.id, "pulse.closed", {"poll": poll.id, "released": ok, "respondents": respondents}
        )

    def _when(self, poll: PulsePoll, team: Team) -> str:
        closed = poll.closed_at or poll.closes_at
        return meeting_time(utc_to_local(closed, zone(team.timezone)), team.timezone)

    async def report(
        self, ctx: FlowContext, poll: PulsePoll, counts_at_close: dict[str | None, int] | None = None
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
        return build_report(
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

    async def chart(self, ctx: FlowContext, team: Team, poll: PulsePoll) -> str:
        instrument = instrument_from_data(poll.instrument)
        points = await store.trend(ctx.session, team.id, poll.instrument_id)
        order = list(dict.fromkeys((p.poll_id, p.closed_at) for p in points))
        labels = [utc_to_local(when, zone(team.timezone)).strftime("%b %Y") for _, when in order]
        means: dict[str, list[float | None]] = {c.id: [None] * len(order) for c in instrument.components}
        index = {poll_id: i for i, (poll_id, _) in enumerate(order)}
        for p in points:
            if p.component_id in means:
                means[p.component_id][index[p.poll_id]] = p.mean
        path = chart_dir() / f"pulse-team{team.id}-poll{poll.id}.png"
        render_trend(path, instrument, labels, dict(means), f"{team.name}: {instrument.name}")
        return str(path)

    # ------------------------------------------------------------ quarterly

    async def _quarterly(self, ctx: FlowContext, schedule: Schedule, occurrence: datetime) -> None:
        team = await teams.team_by_id(ctx.session, schedule.team_id)
        if team is None:
            return
        if await store.open_poll(ctx.session, team.id) is not None:
            log.info("team %s: quarterly poll skipped, one is still open", team.id)
            return
        instrument = instruments().get(str((schedule.settings or {}).get("instrument", DEFAULT_INSTRUMENT)))
        if instrument is None:
            return
        await self.open(ctx, team, instrument, opened_by=None)


async def set_quarterly_schedule(ctx: FlowContext, team: Team, first: date, instrument_id: str) -> Schedule:
    """Open `instrument_id` every three months from `first`, at 9 AM in the team's zone (DST-safe)."""
    start = datetime(first.year, first.month, first.day, 9, 0)
    rule = "FREQ=MONTHLY;INTERVAL=3"
    recurrence = Recurrence(rule, start, team.timezone)
    following = recurrence.first_firing_after(ctx.now)
    return await schedules.upsert_for_team(
        ctx.session,
        team_id=team.id,
        kind=QUARTERLY_KIND,
        rrule=rule,
        dtstart_local=to_key(start),
        timezone=team.timezone,
        settings={"instrument": instrument_id, "misfire_grace_minutes": 24 * 60},
        next_occurrence_local=to_key(following) if following else None,
        next_fire_at=recurrence.fire_at(following) if following else None,
        now=ctx.now,
    )
