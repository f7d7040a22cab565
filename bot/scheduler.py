"""APScheduler wiring: one short interval job per process drives the engine's tick.

APScheduler never owns schedules (the database does) and uses only its in-memory job store. SQLite
serves one process: a second scheduler on the same SQLite file is refused (an OS file lock, released
automatically if the process dies)."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import IO

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.engine import make_url

from flows.core.engine import Engine
from storage.db import is_sqlite, sqlite_path

log = logging.getLogger("tandem.scheduler")


class SchedulerLockError(RuntimeError):
    pass


class SqliteSchedulerLock:
    """Held while a scheduler runs on a SQLite file; a second holder is refused."""

    def __init__(self, database_url: str) -> None:
        path = sqlite_path(make_url(database_url)) if is_sqlite(database_url) else None
        self.path = f"{os.path.abspath(path)}.scheduler-lock" if path else None
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        if self.path is None:
            return
        handle = open(self.path, "a+")  # noqa: SIM115 - held for the process lifetime
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise SchedulerLockError(
                f"another Tandem scheduler is already running on this SQLite database ({self.path}); "
                "SQLite serves one process — use PostgreSQL to run several replicas"
            ) from None
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


class Ticker:
    """The one APScheduler job of this process."""

    def __init__(
        self, engine: Engine, seconds: float, housekeeping: Callable[[], Awaitable[object]] | None = None
    ) -> None:
        self.engine = engine
        self.housekeeping = housekeeping
        self.seconds = seconds
        self.scheduler = AsyncIOScheduler(job_defaults={"coalesce": True, "max_instances": 1})
        self.ticks = 0
        self._busy = asyncio.Lock()  # held while a tick or the housekeeping runs: shutdown waits for it

    async def _tick(self) -> None:
        async with self._busy:
            try:
                report = await self.engine.tick()
            except Exception:
                log.exception("tick failed")
                return
            self.ticks += 1
            if report.ran or report.skipped or report.failed:
                log.info("tick: ran %s, skipped %s, failed %s", report.ran, report.skipped, report.failed)

    def start(self) -> None:
        # First tick right away (catch-up after downtime), then every `seconds`.
        self.scheduler.add_job(
            self._tick, "interval", seconds=self.seconds, id="tandem-tick", next_run_time=datetime.now(UTC)
        )
        if self.housekeeping is not None:
            self.scheduler.add_job(self._housekeep, "interval", hours=1, id="tandem-housekeeping")
        self.scheduler.start()

    async def _housekeep(self) -> None:
        assert self.housekeeping is not None
        async with self._busy:
            try:
                await self.housekeeping()
            except Exception:
                log.exception("housekeeping failed")

    async def shutdown(self) -> None:
        """No more ticks; then wait for one under way. Its database connection must be closed before the
        engine is disposed: an aiosqlite connection left open keeps its thread, and so the process, alive
        (a `tandem serve` refused its port during the first tick never exited)."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        async with self._busy:
            pass
