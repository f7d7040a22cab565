"""The running bot: database, engine, delivery worker, ticker and adapters, started and stopped together.

Adapters join through `mount`, the one path for every platform (adapters/base.py's contract): the runtime
is each adapter's Inbox (its events go to the engine; App Home opens to the outbox).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from adapters.base import Adapter
from adapters.images import Images
from bot import housekeeping, process_identity
from bot.delivery import DeliveryWorker
from bot.scheduler import SqliteSchedulerLock, Ticker
from bot.sealing_key import sealer_for
from bot.settings import Settings
from flows import default_flows
from flows.core.clock import Clock, SystemClock
from flows.core.engine import Engine
from flows.core.types import Card, Handle, card_to_json
from storage import outbox
from storage.db import checkpoint, create_engine, is_sqlite, session_factory
from storage.migrate import upgrade

log = logging.getLogger("tandem")
CHECKPOINT_SECONDS = 1.0
HOME_REFRESH = Card(summary="home", elements=())  # a home row's card is built when it is sent


class Runtime:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        adapters: Mapping[str, Adapter] | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.db: AsyncEngine = create_engine(settings.database_url)
        self.sessions: async_sessionmaker[AsyncSession] = session_factory(self.db)
        self.adapters: dict[str, Adapter] = dict(adapters or {})
        # images stored in the database (charts), and their public links when TANDEM_PUBLIC_URL is set
        # (served by bot.app)
        self.images = Images(self.sessions, settings.public_url, settings.secret_key)
        # host + pid + start time, written on every outbox lease and schedule claim of this process
        self.identity = process_identity.current()
        self.worker = DeliveryWorker(self.sessions, self.adapters, self.clock, name=self.identity.label)
        self.engine = Engine(
            self.sessions,
            self.clock,
            default_flows(),
            name=self.identity.label,
            courier=self.worker,
            prepare_ahead=timedelta(seconds=settings.prepare_seconds),
            sealer=sealer_for(settings),
        )
        self.ticker = Ticker(
            self.engine,
            settings.tick_seconds,
            housekeeping=lambda: housekeeping.run(
                self.sessions, self.clock, retention=timedelta(days=settings.retention_days)
            ),
        )
        self._lock = SqliteSchedulerLock(settings.database_url)
        self._worker_task: asyncio.Task[None] | None = None
        self._checkpoint_task: asyncio.Task[None] | None = None
        self.handle: Handle = self.engine.handle
        self.released_at_start = 0  # outbox rows taken back from a dead predecessor (release_dead_holders)

    def add_adapter(self, adapter: Adapter) -> None:
        """Deliver this platform's outbox rows through `adapter` (not mounted: no routes, no events)."""
        self.adapters[adapter.platform] = adapter
        self.worker.adapters[adapter.platform] = adapter

    def mount(self, app: web.Application, adapter: Adapter) -> None:
        """An adapter joins the running bot, whatever its platform: its outbound half delivers the outbox
        rows for its platform, its inbound half adds its routes to `app` with this runtime as its Inbox,
        and it starts and closes with `app`."""
        self.add_adapter(adapter)
        adapter.mount(app, self)

        async def start(_: web.Application) -> None:
            await adapter.start()

        async def close(_: web.Application) -> None:
            await adapter.close()

        app.on_startup.append(start)
        app.on_cleanup.append(close)

    async def refresh_home(self, platform: str, user: str, workspace: str | None) -> None:
        """Inbox: a person opened their home view. One outbox row marked "home", as the flows' own home
        refreshes write (flows.home), built by the adapter from the current state when it is sent; for
        someone who is on no team yet too (their home says so). Not through the engine: adapters/base.py."""
        target: dict[str, Any] = {"user": user, "home": True}
        if workspace:
            target["workspace"] = workspace
        async with self.sessions() as session, session.begin():
            await outbox.add(
                session,
                team_id=None,
                platform=platform,
                target=target,
                payload=card_to_json(HOME_REFRESH),
                sensitive=False,
                now=self.clock.now(),
            )
        self.worker.wake()

    async def start(self, *, migrate: bool = True, schedule: bool = True, deliver: bool = True) -> None:
        if migrate:
            await upgrade(self.db)
        if schedule:
            self._lock.acquire()
            self.ticker.start()
        if deliver:
            await self.release_dead_holders()
            self._worker_task = asyncio.create_task(self.worker.run_forever(), name="tandem-delivery")
        if is_sqlite(self.settings.database_url) and (schedule or deliver):
            self._checkpoint_task = asyncio.create_task(self._checkpoint_forever(), name="tandem-checkpoint")

    async def release_dead_holders(self) -> int:
        """Outbox rows still leased to a process of this host that no longer runs (this one's predecessor,
        killed) are ready again now, not when the lease ends; the number released."""
        released = 0
        async with self.sessions() as session, session.begin():
            for holder in await outbox.holders(session):
                if process_identity.is_dead(holder.process, self.identity):
                    n = await outbox.release(session, worker=holder.process, now=self.clock.now())
                    log.warning(
                        "released %d outbox messages held by %s (no longer running)", n, holder.process
                    )
                    released += n
        self.released_at_start = released
        return released

    async def _checkpoint_forever(self) -> None:
        """SQLite: move the WAL into the database file every second, off every commit's path (storage.db)."""
        while True:
            await asyncio.sleep(CHECKPOINT_SECONDS)
            try:
                await checkpoint(self.db)
            except Exception:  # a busy moment or a full disk: the next try, or the backstop, will do it
                log.warning("SQLite checkpoint failed; will retry", exc_info=True)

    async def stop(self) -> None:
        await self.ticker.shutdown()
        if self._checkpoint_task is not None:
            self._checkpoint_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpoint_task
        if self._worker_task is not None:
            self._worker_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker_task
        self._lock.release()
        await self.db.dispose()
