"""The delivery worker: sends outbox rows through adapters, with retries, back-off and crash recovery.

Rows are leased, not locked for the send: a worker that dies mid-batch leaves leased rows that become
ready again when the lease ends, so a crash loses nothing. The lease is short (15 s) and renewed every
5 s while the worker sends, so a slow batch keeps its rows and a dead worker's rows wait at most 15 s
(a restart on the same host takes them back at once: bot/process_identity.py, `Runtime.start`).

A batch goes out in chunks of up to `concurrency` messages sent at once (never two to one conversation,
whose order is kept); each chunk's outcomes are recorded in one transaction right after it, so a crash can
resend only the chunk that was in flight (with `concurrency=1`, only the one message in flight).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.base import Adapter, PermanentFailure, RetryLater
from flows.core.clock import Clock
from flows.core.types import card_from_json
from storage import outbox

log = logging.getLogger("tandem.delivery")


@dataclass(frozen=True)
class _Outcome:
    message: outbox.ClaimedMessage
    attempts: int
    status: Literal["sent", "retry", "failed"]
    ref: str | None = None
    error: str | None = None
    delay: float = 0.0
    progress: dict[str, Any] | None = None  # a multi-step send's done steps, kept for the retry


def _chunks(messages: Sequence[outbox.ClaimedMessage], size: int) -> list[list[outbox.ClaimedMessage]]:
    """Groups of at most `size` sent at once, never two for the same conversation in one group, and a
    conversation's messages in their original order across groups."""
    chunks: list[list[outbox.ClaimedMessage]] = []
    last_chunk: dict[tuple[str, str], int] = {}
    for message in messages:
        where = (message.platform, str(message.target.get("address") or message.target.get("user")))
        index = last_chunk.get(where, -1) + 1
        while index < len(chunks) and len(chunks[index]) >= size:
            index += 1
        if index == len(chunks):
            chunks.append([])
        chunks[index].append(message)
        last_chunk[where] = index
    return chunks


@dataclass
class DeliveryStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    by_platform: dict[str, int] = field(default_factory=dict)


class DeliveryWorker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        adapters: Mapping[str, Adapter],
        clock: Clock,
        *,
        name: str | None = None,
        batch: int = 100,
        lease: timedelta = timedelta(seconds=15),
        base_backoff: float = 2.0,
        max_backoff: float = 900.0,
        max_attempts: int = 8,
        poll_seconds: float = 1.0,
        concurrency: int = 16,
    ) -> None:
        self.sessions = sessions
        self.adapters = dict(adapters)
        self.clock = clock
        self.name = name or f"worker-{os.getpid()}-{id(self):x}"
        self.batch = batch
        self.lease = lease
        self.renew_seconds = lease.total_seconds() / 3  # renewed while sending: a live worker keeps its rows
        self.renewals = 0
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        self.max_attempts = max_attempts
        self.poll_seconds = poll_seconds
        self.concurrency = max(1, concurrency)
        self.stats = DeliveryStats()
        self._wake = asyncio.Event()
        self._look = False  # rows were committed here that nobody claimed yet: claim without reading first
        self._idle = poll_seconds  # how long run_forever may sleep after a run_once that found nothing
        self._settled = False  # run_once ended knowing there is nothing ready (and `_idle` says until when)

    def wake(self) -> None:
        """Called when new rows were committed in this process: send now, don't wait for the poll."""
        self._look = True
        self._wake.set()

    def backoff(self, attempts: int) -> float:
        return float(min(self.max_backoff, self.base_backoff * (2 ** max(0, attempts - 1))))

    async def run_once(self, *, woken: bool = False) -> int:
        """Claim a batch and send it, and the batches that became ready meanwhile; the number of rows
        handled. Unless `woken` (rows were just committed in this process, so there is work), whether
        anything is ready is read first (a read takes no lock on SQLite), so an idle worker never holds
        the write lock. The last chunk of a batch is recorded in the same transaction that claims the
        next batch, so a busy worker writes once per chunk; when that claim finds nothing, the same
        transaction reads when to look again (`_idle`), so a batch ends without another round trip."""
        self._settled = False
        if not self.adapters:
            return 0
        now = self.clock.now()
        if not woken:
            due = await self._next_due()
            if due is None or due > now:
                self._rest_until(due, now)
                return 0
        async with self.sessions() as session, session.begin():
            claimed = await self._claim(session)
            due = None if claimed else await self._due(session)
        if not claimed:  # held for later, or another replica took them meanwhile
            self._rest_until(due, now)
            return 0
        handled = 0
        renewing = asyncio.create_task(self._keep_leases())
        try:
            while claimed:
                handled += len(claimed)
                chunks = _chunks(claimed, self.concurrency)
                claimed = []
                for i, chunk in enumerate(chunks):
                    outcomes = await asyncio.gather(*(self._send(message) for message in chunk))
                    claimed, due = await self._record(outcomes, claim_next=i == len(chunks) - 1)
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
        self._rest_until(due, self.clock.now())
        return handled

    async def _keep_leases(self) -> None:
        """While a batch is being sent: every `renew_seconds`, extend the lease on the rows still held."""
        while True:
            await asyncio.sleep(self.renew_seconds)
            try:
                async with self.sessions() as session, session.begin():
                    await outbox.renew_lease(
                        session, worker=self.name, lease_until=self.clock.now() + self.lease
                    )
                self.renewals += 1
            except Exception:  # a busy database: the lease still has two thirds to run
                log.warning("could not renew the outbox lease of %s; will retry", self.name, exc_info=True)

    def _rest_until(self, due: datetime | None, now: datetime) -> None:
        """Nothing to claim now: rest until `due` (None: nothing queued), at most the poll interval; the
        next look is settled (run_forever waits instead of looking again at once)."""
        self._settled = True
        if due is None:
            self._idle = self.poll_seconds
        elif due <= now:  # ready, but another replica holds it: look again soon
            self._idle = min(self.poll_seconds, 0.05)
        else:
            self._idle = min(self.poll_seconds, (due - now).total_seconds())

    async def _due(self, session: AsyncSession) -> datetime | None:
        return await outbox.next_ready_at(session, sorted(self.adapters))

    async def _claim(self, session: AsyncSession) -> list[outbox.ClaimedMessage]:
        return await outbox.claim_batch(
            session,
            worker=self.name,
            now=self.clock.now(),
            lease=self.lease,
            limit=self.batch,
            platforms=sorted(self.adapters),
        )

    async def _send(self, message: outbox.ClaimedMessage) -> _Outcome:
        """Send one message; what happened, to be recorded with the rest of its chunk."""
        adapter = self.adapters[message.platform]
        attempts = message.attempts + 1
        try:
            ref: str | None
            card = card_from_json(message.payload)
            previous, waiting = await self._previous_ref(message)
            if waiting:
                raise RetryLater("the message this one replaces is still on its way", retry_after=1.0)
            if previous is not None:
                ref = await adapter.update(message.target, previous, card) or previous
            else:
                ref = await adapter.send(message.target, card)
        except RetryLater as exc:
            return self._retry(message, attempts, str(exc), exc.retry_after, exc.progress)
        except PermanentFailure as exc:
            log.error(
                "delivery %s for team %s failed for good on %s: %s",
                message.id,
                message.team_id,
                message.platform,
                exc,
            )
            return _Outcome(message, attempts, "failed", error=str(exc))
        except Exception as exc:  # an adapter bug or a network error: retry, don't lose the message
            log.exception("delivery %s raised; will retry", message.id)
            return self._retry(message, attempts, f"{type(exc).__name__}: {exc}", None)
        return _Outcome(message, attempts, "sent", ref=ref)

    def _retry(
        self,
        message: outbox.ClaimedMessage,
        attempts: int,
        error: str,
        after: float | None,
        progress: dict[str, Any] | None = None,
    ) -> _Outcome:
        if attempts >= self.max_attempts:
            log.error(
                "delivery %s for team %s gave up after %s attempts: %s",
                message.id,
                message.team_id,
                attempts,
                error,
            )
            return _Outcome(message, attempts, "failed", error=error)
        delay = after if after is not None else self.backoff(attempts)
        return _Outcome(message, attempts, "retry", error=error, delay=delay, progress=progress)

    async def _record(
        self, outcomes: Sequence[_Outcome], *, claim_next: bool = False
    ) -> tuple[list[outbox.ClaimedMessage], datetime | None]:
        """One transaction for a chunk's outcomes (a crash before it resends only that chunk), which also
        claims the next batch when asked: (the rows claimed, and when none were, when the next is due)."""
        now = self.clock.now()
        claimed: list[outbox.ClaimedMessage] = []
        due: datetime | None = None
        async with self.sessions() as session, session.begin():
            await outbox.mark_sent(
                session, [(o.message.id, o.ref) for o in outcomes if o.status == "sent"], now
            )
            for o in outcomes:
                if o.status == "sent":
                    continue
                if o.status == "retry":
                    await outbox.mark_retry(
                        session,
                        o.message.id,
                        attempts=o.attempts,
                        next_attempt_at=now + timedelta(seconds=o.delay),
                        error=o.error or "",
                        target=(
                            {**o.message.target, "progress": o.progress} if o.progress is not None else None
                        ),
                    )
                else:
                    await outbox.mark_failed(session, o.message.id, attempts=o.attempts, error=o.error or "")
            if claim_next:
                claimed = await self._claim(session)
                due = None if claimed else await self._due(session)
        self._count(outcomes)
        return claimed, due

    def _count(self, outcomes: Sequence[_Outcome]) -> None:
        for o in outcomes:
            if o.status == "sent":
                self.stats.sent += 1
                self.stats.by_platform[o.message.platform] = (
                    self.stats.by_platform.get(o.message.platform, 0) + 1
                )
            elif o.status == "retry":
                self.stats.retried += 1
            else:
                self.stats.failed += 1

    async def _previous_ref(self, message: outbox.ClaimedMessage) -> tuple[str | None, bool]:
        if message.replaces_key is None:
            return None, False
        async with self.sessions() as session:
            return await outbox.sent_ref(
                session, message.replaces_key, message.platform, message.target.get("address"), message.id
            )

    async def _next_due(self) -> datetime | None:
        """When the earliest row can be claimed (a read: no lock on SQLite)."""
        async with self.sessions() as session:
            return await self._due(session)

    async def drain(self) -> int:
        """Send until nothing is ready (tests and the demo)."""
        total = 0
        while handled := await self.run_once():
            total += handled
        return total

    async def run_forever(self) -> None:
        """Send what is ready in the outbox; then sleep until the earliest row is due, a wake-up (a row
        committed in this process) or the poll interval (rows from other replicas), whichever is first."""
        loop = asyncio.get_running_loop()
        look_at = loop.time()  # when to look in the outbox next
        while True:
            self._wake.clear()  # before looking: a row committed while we look wakes the next wait
            woken, self._look = self._look, False
            try:
                if woken or loop.time() >= look_at:
                    handled = await self.run_once(woken=woken)
                    look_at = loop.time() + (0.0 if handled and not self._settled else self._idle)
            except Exception:
                task = asyncio.current_task()
                if task is not None and task.cancelling():  # stopping: an error while unwinding
                    raise
                log.exception("delivery batch failed; retrying shortly")
                look_at = loop.time() + self.poll_seconds
            if self._look or loop.time() >= look_at:
                continue
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
            # arrives as the wake-up does, and the worker would never stop
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(look_at):
                    await self._wake.wait()
