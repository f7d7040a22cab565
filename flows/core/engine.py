"""The conversation-flow engine: routes Events to flows and fires due schedule occurrences.

Every entry point runs in one database transaction: the flow's state change and the outbox rows for
the messages it wants sent commit together, or not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flows.content import small_talk
from flows.core import outbox
from flows.core.actions import ActionHandler, ActionRouter
from flows.core.calendar import next_working_day
from flows.core.catalog import is_key, language_of, text
from flows.core.clock import Clock
from flows.core.occurrences import NEXT_WORKING_DAY, RUN, Occurrences, holiday_policy
from flows.core.recurrence import from_key, to_key
from flows.core.team_schedules import HOLIDAY_DEFAULTS, recurrence_of
from flows.core.types import (
    ActionEvent,
    Actor,
    Card,
    CommandEvent,
    Conversation,
    Delivery,
    Event,
    Fields,
    Form,
    Header,
    InstalledEvent,
    MemberJoinedEvent,
    MessageEvent,
    Recipient,
    Text,
)
from storage import audit, calendar, events, flow_state, schedules, teams
from storage.calendar import TeamCalendar
from storage.db import conflicting_write
from storage.schedules import ScheduleView
from storage.sealing import Sealer
from storage.teams import PersonView, TeamView

log = logging.getLogger("tandem.engine")


@dataclass
class FlowContext:
    """What a flow gets for one event or one fired occurrence: a transaction, the time, and ways to speak."""

    session: AsyncSession
    now: datetime
    sealer: Sealer  # seals what people submit to anonymous polls until close (storage/sealing.py)
    actor: Actor | None = None
    person: PersonView | None = None
    conversation: Conversation | None = None
    written: int = 0
    form: Form | None = None
    deliver_at: datetime | None = None  # a prepared occurrence's messages wait until its fire time

    async def send(self, delivery: Delivery, *, at: datetime | None = None) -> None:
        """Write `delivery` to the outbox; it goes out at `at` (else the occurrence's fire time) at the
        earliest: a check-in invitation waits for its person's own local time."""
        self.written += await outbox.enqueue(self.session, delivery, self.now, at or self.deliver_at)

    async def send_each(self, items: Sequence[tuple[Delivery, datetime | None]]) -> None:
        """Many new private messages at once, each sent at its own time at the earliest (else the
        occurrence's fire time): one query and one insert however many there are."""
        self.written += await outbox.enqueue_to_people(
            self.session, [(d, at or self.deliver_at) for d, at in items], self.now
        )

    def open_form(self, form: Form) -> None:
        """Show `form` to the person who just acted (a Slack modal, a Teams card in the invoke response).
        Only valid while handling an ActionEvent or CommandEvent; the adapter opens it synchronously.
        The form speaks the person's language unless the flow chose one (the team's, say)."""
        self.form = form if form.language else replace(form, language=language_of(self.person))

    async def reply(self, card: Card, *, team_id: int | None = None) -> None:
        """Answer the person who spoke, where they spoke, visible to them only."""
        if self.conversation is None:
            raise RuntimeError("reply() needs an inbound conversation")
        recipient = Recipient.reply_to(self.conversation, self.actor.user_id if self.actor else None)
        await self.send(Delivery(recipient=recipient, card=card, team_id=team_id))

    @property
    def command_prefix(self) -> str:
        """How the person types a command on their platform (`/tandem help` in Slack, `help` elsewhere)."""
        return "/tandem " if self.actor is not None and self.actor.platform == "slack" else ""

    async def load_state(self, flow: str, team_id: int, key: str) -> dict[str, Any]:
        return await flow_state.load(self.session, flow, team_id, key)

    async def save_state(self, flow: str, team_id: int, key: str, data: dict[str, Any]) -> None:
        await flow_state.save(self.session, flow, team_id, key, data, self.now)

    async def audit(self, team_id: int | None, action: str, detail: dict[str, Any]) -> None:
        await audit.record(
            self.session,
            team_id=team_id,
            actor_person_id=self.person.id if self.person else None,
            action=action,
            detail=detail,
            at=self.now,
        )

    async def team_here(self) -> tuple[TeamView | None, str | None]:
        """The team this command is about: the team whose channel it was typed in, else the speaker's
        only team. Returns (team, None) or (None, a sentence saying why not)."""
        if self.person is None:
            return None, text("core.unknown_person")
        mine = await teams.teams_of_person(self.session, self.person.id)
        if self.conversation is not None:
            for team in mine:
                for channel in await teams.channels_of(self.session, team.id):
                    if channel.address == self.conversation.conversation_id:
                        return team, None
        if len(mine) == 1:
            return mine[0], None
        if not mine:
            return None, text("core.no_team", language_of(self.person))
        names = ", ".join(t.name for t in mine)
        return None, text("core.several_teams", language_of(self.person), names=names)


CommandHandler = Callable[[FlowContext, CommandEvent, str], Awaitable[None]]
# A schedule handler runs when its occurrence is *prepared*, up to the engine's `prepare_ahead` before the
# occurrence fires: decide from the occurrence (the datetime argument, local wall-clock) or
# `ctx.deliver_at` (the fire instant), not from `ctx.now`. Messages it sends wait until `ctx.deliver_at`.
ScheduleHandler = Callable[[FlowContext, ScheduleView, datetime], Awaitable[None]]


@dataclass(frozen=True)
class DueOccurrence:
    """One occurrence to run: its schedule, its local wall-clock time, and its fire instant."""

    schedule: ScheduleView
    occurrence: datetime
    fire_at: datetime


# A kind whose occurrences are prepared many at once (a district's check-ins, due at one minute) may offer a
# batch handler instead (a flow's optional `schedule_batch_handlers()`): it gets the tick's due occurrences
# of its kind, each already claimed, and does for each what a one-occurrence handler would, reading and
# writing for all of them in a few statements. It must give each message its own `at=` (`ctx.deliver_at`,
# one instant, is not set for a batch). Should it raise, the engine undoes the batch and calls it with one
# occurrence at a time, so a failure is recorded against the occurrence that failed and the others run.
BatchScheduleHandler = Callable[[FlowContext, Sequence[DueOccurrence]], Awaitable[None]]
ArrivalHandler = Callable[[FlowContext, InstalledEvent | MemberJoinedEvent], Awaitable[None]]
# A pass runs on every tick, after the schedules: it handles up to `limit` due things of its own (read
# through an index, claimed exactly once by the flow) and returns how many it looked at. A flow offers
# its passes with an optional `tick_passes()` method.
TickPass = Callable[[FlowContext, int], Awaitable[int]]


@dataclass(frozen=True)
class Command:
    word: str
    usage: str
    summary: str
    handler: CommandHandler
    # Other words for the same command (`holidays` for `holiday`): understood, not listed (Teams' manifest
    # takes ten commands).
    aliases: tuple[str, ...] = ()


class Flow(Protocol):
    name: str

    def commands(self) -> Sequence[Command]: ...

    # The exact action ids this flow's buttons and forms carry, each with its handler (flows/core/actions.py).
    def actions(self) -> dict[str, ActionHandler]: ...

    def schedule_handlers(self) -> dict[str, ScheduleHandler]: ...

    # What the flow does when Tandem arrives somewhere or a person joins one of its channels.
    def arrivals(self) -> Sequence[ArrivalHandler]: ...


class Courier(Protocol):
    """The delivery worker of this process, as the engine sees it."""

    def wake(self) -> None:
        """Committed messages wait in the outbox: look now."""


class _Deferred:
    """What a tick batch leaves for its end: the occurrences of kinds with a batch handler, and the advances
    of their schedules (each schedule moves on only after its occurrences ran, as the others do)."""

    def __init__(self) -> None:
        self.occurrences: dict[str, list[DueOccurrence]] = {}  # kind -> its due occurrences, in order
        self.advances: list[tuple[int, str | None, datetime | None]] = []


@dataclass
class TickReport:
    ran: int = 0
    skipped: int = 0
    failed: int = 0
    passed: int = 0  # things the flows' tick passes looked at (action item reminders)
    late: list[float] = field(default_factory=list)


class Engine:
    """One per process (or several in a test): stateless apart from its clock; the database holds the rest."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        flows: Sequence[Flow],
        *,
        name: str = "tandem",
        courier: Courier | None = None,
        batch: int = 200,
        default_misfire_grace: timedelta = timedelta(hours=1),
        prepare_ahead: timedelta = timedelta(minutes=2),
        sealer: Sealer | None = None,
    ) -> None:
        self.sessions = sessions
        # The running bot passes the server's key (bot/sealing_key.py); tests and the demo, a random one.
        self.sealer = sealer or Sealer.ephemeral()
        self.clock = clock
        self.flows = {flow.name: flow for flow in flows}
        self.name = name
        self.courier = courier
        self.batch = batch
        self.default_misfire_grace = default_misfire_grace
        self.prepare_ahead = prepare_ahead
        self._commands: dict[str, Command] = {}
        self._aliases: dict[str, Command] = {}
        self._schedule_handlers: dict[str, ScheduleHandler] = {}
        self._batch_handlers: dict[str, BatchScheduleHandler] = {}
        self._actions = ActionRouter()
        self._arrivals: list[ArrivalHandler] = []
        self._passes: list[TickPass] = []
        for flow in flows:
            self._passes.extend(getattr(flow, "tick_passes", tuple)())
            for command in flow.commands():
                self._commands[command.word] = command
                self._aliases.update(dict.fromkeys(command.aliases, command))
            self._schedule_handlers.update(flow.schedule_handlers())
            self._batch_handlers.update(getattr(flow, "schedule_batch_handlers", dict)())
            self._actions.declare(flow.actions())
            self._arrivals.extend(flow.arrivals())

    # ------------------------------------------------------------ inbound

    async def handle(self, event: Event) -> Form | None:
        """Process one inbound event, at most once per idempotency key. Returns the Form a flow asked to
        show the person (the adapter opens it at once: Slack trigger ids expire in 3 seconds)."""
        try:
            async with self.sessions() as session, session.begin():
                now = self.clock.now()
                actor = event.actor
                if event.idempotency_key:
                    fresh, person = await events.first_time_from(
                        session, event.idempotency_key, now, actor.platform, actor.user_id
                    )
                    if not fresh:
                        log.info("duplicate event %s ignored", event.idempotency_key)
                        return None
                else:
                    person = await teams.person_by_identity(session, actor.platform, actor.user_id)
                ctx = FlowContext(session, now, self.sealer, event.actor, person, event.conversation)
                await self._dispatch(ctx, event)
        except Exception as exc:
            if not conflicting_write(exc) or event.conversation is None:
                raise
            await self._clashed(event, exc)  # nothing was written, its idempotency key neither
            return None
        self._notify(ctx)
        return ctx.form

    async def _clashed(self, event: Event, exc: Exception) -> None:
        """Another request changed the same thing at the same moment (two `setup`s for one channel): the
        person is told that nothing was saved and to try again, instead of an error from the platform."""
        log.warning(
            "%s from %s clashed with a simultaneous change: %s",
            type(event).__name__,
            event.actor.platform,
            type(exc).__name__,
        )
        async with self.sessions() as session, session.begin():
            person = await teams.person_by_identity(session, event.actor.platform, event.actor.user_id)
            ctx = FlowContext(session, self.clock.now(), self.sealer, event.actor, person, event.conversation)
            await ctx.reply(Card.plain(text("engine.clashed", language_of(person=person))))
        self._notify(ctx)

    async def _dispatch(self, ctx: FlowContext, event: Event) -> None:
        if isinstance(event, CommandEvent) or (
            isinstance(event, MessageEvent) and event.conversation.is_direct
        ):
            await self._command(ctx, event)
        elif isinstance(event, ActionEvent):
            await self._actions.dispatch(ctx, event)
        elif isinstance(event, InstalledEvent | MemberJoinedEvent):
            for arrival in self._arrivals:
                await arrival(ctx, event)

    async def _command(self, ctx: FlowContext, event: CommandEvent | MessageEvent) -> None:
        text = event.text.strip()
        word, _, rest = text.partition(" ")
        word = word.lower()
        if word in ("", "help", "?"):
            await ctx.reply(self.help_card(ctx.command_prefix, lang=language_of(ctx.person)))
            return
        command = self._commands.get(word) or self._aliases.get(word)
        if command is None:
            await ctx.reply(self._not_a_command(word, ctx.command_prefix, language_of(ctx.person)))
            return
        mentions = event.mentions if isinstance(event, CommandEvent) else ()
        command_event = CommandEvent(event.actor, event.conversation, text, event.idempotency_key, mentions)
        await command.handler(ctx, command_event, rest.strip())

    def _not_a_command(self, word: str, prefix: str, lang: str = "en") -> Card:
        """A hello gets the help list, a thank-you a you're-welcome, anything else what to type instead."""
        talk, bare = small_talk(), word.strip("!.,?:;")
        if bare in talk["hello"].words:
            return self.help_card(prefix, title=talk["hello"].reply, lang=lang)
        if bare in talk["thanks"].words:
            return Card.plain(talk["thanks"].reply.format(prefix=prefix))
        return Card.plain(text("core.not_a_command", lang, word=word, prefix=prefix))

    def help_card(self, prefix: str, title: str | None = None, lang: str = "en") -> Card:
        """Every command with its summary (a catalog key, or a flow's own text if not key-shaped)."""
        title = title or text("help.title", lang)
        pairs = [(f"{prefix}help", text("help.help", lang))]
        pairs += [
            (f"{prefix}{c.usage}", text(c.summary, lang) if is_key(c.summary) else c.summary)
            for c in self._commands.values()
        ]
        return Card(
            summary=title,
            elements=(
                Header(title),
                Text(text("help.about", lang)),
                Fields(tuple(pairs)),
            ),
        )

    # ------------------------------------------------------------ scheduling

    async def tick(self) -> TickReport:
        """Fire every due occurrence exactly once, in batches; safe to run on many replicas at once.

        Occurrences are *prepared* up to `prepare_ahead` before their fire time: the flow runs then and its
        messages wait in the outbox until the fire time, so a burst of occurrences at one instant goes out
        on time instead of queueing behind each other's database work. Occurrences of a kind with a batch
        handler run together at the end of their batch (one claim statement, one call)."""
        report = TickReport()
        while True:
            now = self.clock.now()
            async with self.sessions() as session, session.begin():
                due = await schedules.lock_due(session, now + self.prepare_ahead, self.batch)
                ctx = FlowContext(session, now, self.sealer)
                exceptions = await calendar.exceptions_of_schedules(session, [s.id for s in due])
                deferred = _Deferred()
                for schedule in due:
                    await self._fire(ctx, schedule, exceptions.get(schedule.id, {}), report, deferred)
                for kind, occurrences in deferred.occurrences.items():
                    await self._run_batch(ctx, self._batch_handlers[kind], occurrences, report)
                await schedules.advance_many(ctx.session, deferred.advances, ctx.now)
            self._notify(ctx)
            if len(due) < self.batch:
                break
        for tick_pass in self._passes:
            while True:
                async with self.sessions() as session, session.begin():
                    ctx = FlowContext(session, self.clock.now(), self.sealer)
                    looked = await tick_pass(ctx, self.batch)
                self._notify(ctx)
                report.passed += looked
                if looked < self.batch:
                    break
        return report

    async def _fire(
        self,
        ctx: FlowContext,
        schedule: ScheduleView,
        exceptions: Mapping[str, str | None],
        report: TickReport,
        deferred: _Deferred,
    ) -> None:
        """Run what is due of one schedule and advance it. Misfire policy (coalesce): of the occurrences
        whose fire time has passed, only the latest runs, and only within its grace; occurrences still
        ahead but inside the prepare horizon each run, their messages held until their fire time.
        `exceptions` are the schedule's skipped and moved occurrences (read for the whole batch at once). A
        kind with a batch handler leaves its occurrences and its advance to `deferred`."""
        settings = schedule.settings or {}
        recurrence = recurrence_of(schedule)
        grace = (
            timedelta(minutes=int(settings["misfire_grace_minutes"]))
            if "misfire_grace_minutes" in settings
            else self.default_misfire_grace
        )
        if schedule.next_occurrence_local is None:
            return
        # The team calendar: occurrences a co-chair skipped or moved, and what a holiday does (SKIP, …).
        occurrences = Occurrences(recurrence, exceptions)
        policy = holiday_policy(settings, HOLIDAY_DEFAULTS.get(schedule.kind, RUN))
        holidays = (await calendar.team_calendar(ctx.session, schedule.team_id)) if policy != RUN else None
        cursor: datetime | None = from_key(schedule.next_occurrence_local)
        assert cursor is not None
        if cursor in occurrences.removed and not occurrences.is_moved(cursor):
            cursor = occurrences.first_after(cursor)
        past = occurrences.latest_due(cursor, ctx.now) if cursor is not None else None
        if past is not None and cursor is not None:
            if past != cursor:
                missed = len(occurrences.between(cursor, past, limit=1000))
                log.warning(
                    "schedule %s: coalesced %s missed occurrence(s) into %s", schedule.id, missed, past
                )
                report.skipped += missed
            lateness = ctx.now - occurrences.fire_at(past)
            if lateness > grace:
                await schedules.claim(ctx.session, schedule.id, to_key(past), "skipped", self.name, ctx.now)
                log.warning(
                    "schedule %s: occurrence %s is %s late, past its grace; skipped",
                    schedule.id,
                    past,
                    lateness,
                )
                report.skipped += 1
            elif not await self._holiday(ctx, schedule, occurrences, policy, holidays, past, report):
                await self._run_or_defer(
                    ctx, DueOccurrence(schedule, past, recurrence.fire_at(past)), report, deferred
                )
                report.late.append(lateness.total_seconds())
            cursor = occurrences.first_after(past)
        horizon = ctx.now + self.prepare_ahead
        prepared = 0
        while cursor is not None and occurrences.fire_at(cursor) <= horizon and prepared < self.batch:
            if not await self._holiday(ctx, schedule, occurrences, policy, holidays, cursor, report):
                await self._run_or_defer(
                    ctx, DueOccurrence(schedule, cursor, recurrence.fire_at(cursor)), report, deferred
                )
            prepared += 1
            cursor = occurrences.first_after(cursor)
        next_local = to_key(cursor) if cursor else None
        next_fire_at = occurrences.fire_at(cursor) if cursor else None
        if schedule.kind in self._batch_handlers:
            deferred.advances.append((schedule.id, next_local, next_fire_at))
        else:
            await schedules.advance(ctx.session, schedule.id, next_local, next_fire_at, ctx.now)

    async def _holiday(
        self,
        ctx: FlowContext,
        schedule: ScheduleView,
        occurrences: Occurrences,
        policy: str,
        cal: TeamCalendar | None,
        occurrence: datetime,
        report: TickReport,
    ) -> bool:
        """True when `occurrence` falls on a team holiday and the schedule's policy kept it from running:
        skipped (claimed as such, once), or moved to the next working day at the same local time (recorded as
        the occurrence's exception; it runs then, under its new key). A moved occurrence runs where it was
        moved to, holiday or not: a person chose that day."""
        if cal is None or occurrences.is_moved(occurrence) or occurrence.date() not in cal.holidays:
            return False
        key = to_key(occurrence)
        if policy == NEXT_WORKING_DAY:
            moved = datetime.combine(next_working_day(occurrence.date(), cal), occurrence.time())
            if not await schedules.claim(ctx.session, schedule.id, key, "moved", self.name, ctx.now):
                return True
            await calendar.set_schedule_exception(ctx.session, schedule.id, key, to_key(moved), None, ctx.now)
            occurrences.move(occurrence, moved)
            log.info(
                "schedule %s: %s is a holiday (%s); moved to %s",
                schedule.id,
                key,
                cal.holidays[occurrence.date()],
                moved,
            )
        elif await schedules.claim(ctx.session, schedule.id, key, "skipped", self.name, ctx.now):
            log.info(
                "schedule %s: %s is a holiday (%s); skipped",
                schedule.id,
                key,
                cal.holidays[occurrence.date()],
            )
        report.skipped += 1
        return True

    async def _run_or_defer(
        self, ctx: FlowContext, due: DueOccurrence, report: TickReport, deferred: _Deferred
    ) -> None:
        if due.schedule.kind in self._batch_handlers:
            deferred.occurrences.setdefault(due.schedule.kind, []).append(due)
        else:
            await self._run_occurrence(ctx, due, report)

    async def _run_batch(
        self,
        ctx: FlowContext,
        handler: BatchScheduleHandler,
        due: Sequence[DueOccurrence],
        report: TickReport,
    ) -> None:
        """Claim every occurrence in `due` in one statement and hand the claimed ones to their kind's batch
        handler, in one savepoint; should anything fail, undo it all and run each on its own."""
        written_before = ctx.written
        try:
            async with ctx.session.begin_nested():
                keys = [(d.schedule.id, to_key(d.occurrence)) for d in due]
                won = await schedules.claim_many(ctx.session, keys, "ran", self.name, ctx.now)
                # those not won: another replica (or an earlier tick) already has them
                mine = [d for d, key in zip(due, keys, strict=True) if key in won]
                if mine:
                    await handler(ctx, mine)
            report.ran += len(mine)
        except Exception:
            ctx.written = written_before
            log.exception(
                "%s occurrence(s) of kind %s failed together; running each on its own",
                len(due),
                due[0].schedule.kind,
            )
            for one in due:
                await self._run_occurrence(ctx, one, report)

    async def _run_occurrence(self, ctx: FlowContext, due: DueOccurrence, report: TickReport) -> None:
        schedule = due.schedule
        batch_handler = self._batch_handlers.get(schedule.kind)
        handler = self._schedule_handlers.get(schedule.kind)
        written_before = ctx.written
        key = to_key(due.occurrence)
        ctx.deliver_at = due.fire_at
        try:
            async with ctx.session.begin_nested():
                if not await schedules.claim(ctx.session, schedule.id, key, "ran", self.name, ctx.now):
                    return  # another replica ran it
                if batch_handler is not None:
                    await batch_handler(ctx, [due])
                elif handler is not None:
                    await handler(ctx, schedule, due.occurrence)
                else:
                    raise LookupError(f"no flow handles schedules of kind {schedule.kind!r}")
            report.ran += 1
        except Exception:
            ctx.written = written_before
            log.exception("schedule %s occurrence %s failed; recorded and moving on", schedule.id, key)
            await schedules.claim(ctx.session, schedule.id, key, "failed", self.name, ctx.now)
            report.failed += 1
        finally:
            ctx.deliver_at = None

    def _notify(self, ctx: FlowContext) -> None:
        """After commit: wake the worker if messages were written."""
        if self.courier is not None and ctx.written:
            self.courier.wake()


__all__ = [
    "BatchScheduleHandler",
    "Command",
    "Courier",
    "DueOccurrence",
    "Engine",
    "Flow",
    "FlowContext",
    "TickPass",
    "TickReport",
]
