"""The delivery worker: sends outbox rows through adapters, with retries, back-off and crash recovery.

Rows are leased, not locked for the send: a worker that dies mid-batch leaves leased rows that become
ready again when the lease ends, so a crash loses nothing; only the one message in flight at the crash
can be sent twice. Every row is marked sent in its own short transaction right after its send.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.base import Adapter, PermanentFailure, RetryLater
from flows.clock import Clock
from flows.types import card_from_json
from storage import outbox

log = logging.getLogger("tandem.delivery")


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
        batch: int = 50,
        lease: timedelta = timedelta(seconds=60),
        base_backoff: float = 2.0,
        max_backoff: float = 900.0,
        max_attempts: int = 8,
        poll_seconds: float = 1.0,
    ) -> None:
        self.sessions = sessions
        self.adapters = dict(adapters)
        self.clock = clock
        self.name = name or f"worker-{os.getpid()}-{id(self):x}"
        self.batch = batch
        self.lease = lease
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        self.max_attempts = max_attempts
        self.poll_seconds = poll_seconds
        self.stats = DeliveryStats()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Called when new rows were committed in this process: send now, don't wait for the poll."""
        self._wake.set()

    def backoff(self, attempts: int) -> float:
        return float(min(self.max_backoff, self.base_backoff * (2 ** max(0, attempts - 1))))

    async def run_once(self) -> int:
        """Claim one batch and send it; the number of rows handled."""
        if not self.adapters:
            return 0
        async with self.sessions() as session, session.begin():
            claimed = await outbox.claim_batch(
                session,
                worker=self.name,
                now=self.clock.now(),
                lease=self.lease,
                limit=self.batch,
                platforms=sorted(self.adapters),
            )
        for message in claimed:
            await self._send(message)
        return len(claimed)

    async def _send(self, message: outbox.ClaimedMessage) -> None:
        adapter = self.adapters[message.platform]
        attempts = message.attempts + 1
        try:
            ref: str | None
            card = card_from_json(message.payload)
            previous = await self._previous_ref(message)
            if previous is not None:
                ref = await adapter.update(message.target, previous, card) or previous
            else:
                ref = await adapter.send(message.target, card)
        except RetryLater as exc:
            await self._retry(message, attempts, str(exc), exc.retry_after)
            return
        except PermanentFailure as exc:
            log.error(
                "delivery %s for team %s failed for good on %s: %s",
                message.id,
                message.team_id,
                message.platform,
                exc,
            )
            async with self.sessions() as session, session.begin():
                await outbox.mark_failed(session, message.id, attempts=attempts, error=str(exc))
            self.stats.failed += 1
            return
        except Exception as exc:  # an adapter bug or a network error: retry, don't lose the message
            log.exception("delivery %s raised; will retry", message.id)
            await self._retry(message, attempts, f"{type(exc).__name__}: {exc}", None)
            return
        async with self.sessions() as session, session.begin():
            await outbox.mark_sent(session, message.id, ref, self.clock.now())
        self.stats.sent += 1
        self.stats.by_platform[message.platform] = self.stats.by_platform.get(message.platform, 0) + 1

    async def _previous_ref(self, message: outbox.ClaimedMessage) -> str | None:
        if message.replaces_key is None:
            return None
        async with self.sessions() as session:
            return await outbox.sent_ref(
                session, message.replaces_key, message.platform, message.target.get("address")
            )

    async def _retry(
        self, message: outbox.ClaimedMessage, attempts: int, error: str, after: float | None
    ) -> None:
        async with self.sessions() as session, session.begin():
            if attempts >= self.max_attempts:
                log.error(
                    "delivery %s for team %s gave up after %s attempts: %s",
                    message.id,
                    message.team_id,
                    attempts,
                    error,
                )
                await outbox.mark_failed(session, message.id, attempts=attempts, error=error)
                self.stats.failed += 1
                return
            delay = after if after is not None else self.backoff(attempts)
            await outbox.mark_retry(
                session,
                message.id,
                attempts=attempts,
                next_attempt_at=self.clock.now() + timedelta(seconds=delay),
                error=error,
            )
        self.stats.retried += 1

    async def drain(self) -> int:
        """Send until nothing is ready (tests and the demo)."""
        total = 0
        while handled := await self.run_once():
            total += handled
        return total

    async def run_forever(self) -> None:
        while True:
            try:
                handled = await self.run_once()
            except Exception:
                log.exception("delivery batch failed; retrying shortly")
                handled = 0
            if handled:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
