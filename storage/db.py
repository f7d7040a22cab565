"""Engine and session set-up for SQLite (aiosqlite, WAL, foreign keys on) and PostgreSQL (asyncpg).

**Transactions on SQLite.** SQLite has one writer at a time. Our rule, kept by every caller:
`async with sessions() as session, session.begin():` is a transaction that may write; a session used
without `session.begin()` only reads (it is never committed, so a write in it would be lost anyway).

- A writing transaction starts with `BEGIN IMMEDIATE`: it takes the write lock up front, so two writers
  queue instead of one failing to upgrade its lock half-way. Before that, `session.begin()` waits its turn
  on this process's **write gate**, a plain asyncio lock: writers in one process queue in arrival order,
  each starting the moment the previous one commits. Without it they meet in SQLite's busy handler, which
  sleeps 1, 2, 5, 10 … up to 100 ms between tries however soon the lock is free: measured on 2 cores, Teams
  at 100 msg/s on SQLite had a p99 of 0.13–1.1 s without the gate and 0.07–0.14 s with it (bench/README.md,
  2026-11-30). The busy handler (`busy_timeout`, 30 s) still arbitrates between processes (a `tandem` CLI
  command beside `tandem serve`).
- A reading session starts with a plain (deferred) `BEGIN`: a WAL snapshot that never waits for the
  writer and never makes the writer wait.

- **Checkpoints off the commit path.** SQLite copies the WAL back into the database file (a checkpoint,
  with an fsync) when a commit finds the WAL over `wal_autocheckpoint` pages; that commit, and every writer
  queued behind it, waited tens of milliseconds (bench/teams_activity.py showed 40–150 ms p99 spikes in
  about half its runs). `tandem serve` now checkpoints every second from its own connection, outside any
  transaction (`checkpoint`, PASSIVE: it never waits for readers or the writer);
  `wal_autocheckpoint` stays as a backstop at 10,000 pages (~40 MB).

PostgreSQL needs none of this: its sessions are unchanged.
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    AsyncSessionTransaction,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, SessionTransactionOrigin
from sqlalchemy.pool import NullPool

SUPPORTED_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")
READ_ONLY = "tandem_read_only"  # execution option: a SQLite transaction that only reads (deferred BEGIN)
GATE_TIMEOUT = 30.0  # seconds, as the busy timeout: a writer waiting longer gets "database is locked"
AUTOCHECKPOINT_PAGES = 10_000  # the backstop; `checkpoint` normally runs long before (see the module doc)


def normalise_url(raw: str) -> URL:
    """Parse a database URL and pick the async driver; raise ValueError with a reason otherwise."""
    try:
        url = make_url(raw)
    except Exception as exc:  # sqlalchemy raises ArgumentError with its own wording
        raise ValueError(f"could not parse {raw!r} as a database URL") from exc
    driver = url.drivername
    if driver in ("sqlite", "sqlite+pysqlite"):
        url = url.set(drivername="sqlite+aiosqlite")
    elif driver in ("postgres", "postgresql", "postgresql+psycopg2", "postgresql+psycopg"):
        url = url.set(drivername="postgresql+asyncpg")
    if url.drivername not in SUPPORTED_DRIVERS:
        raise ValueError(
            f"unsupported database {driver!r}: use sqlite+aiosqlite:///path.db or postgresql+asyncpg://user@host/db"
        )
    return url


def is_sqlite(url: URL | str) -> bool:
    return make_url(str(url) if isinstance(url, URL) else url).get_backend_name() == "sqlite"


def sqlite_path(url: URL) -> str | None:
    """The file behind a SQLite URL, or None for an in-memory database."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return database


def create_engine(url: URL | str, *, pool_size: int = 10) -> AsyncEngine:
    parsed = normalise_url(url if isinstance(url, str) else url.render_as_string(hide_password=False))
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": 30}
        if sqlite_path(parsed) is None:
            kwargs["poolclass"] = NullPool
    else:
        kwargs["pool_size"] = pool_size
        kwargs["max_overflow"] = pool_size
        # No pool_pre_ping: with asyncpg it costs three round trips (BEGIN, a ping, ROLLBACK) on every
        # checkout, i.e. per transaction, which was most of the round trips of a click. A connection
        # that died with the server fails its next statement instead; SQLAlchemy then invalidates the
        # whole pool, so the retry (the outbox, a tick, Slack's retry of a handled event) gets a fresh one.
        # Connections are replaced after 30 minutes, before idle-connection timeouts in between close them.
        kwargs["pool_recycle"] = 1800
    engine = create_async_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        _install_sqlite_pragmas(engine)
    return engine


async def checkpoint(engine: AsyncEngine) -> tuple[int, int]:
    """SQLite: copy what the WAL holds into the database file, without a transaction or waiting for
    anyone (PRAGMA wal_checkpoint(PASSIVE)); (frames in the WAL, frames copied)."""
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection  # aiosqlite's own connection: no BEGIN from SQLAlchemy
        assert driver is not None
        cursor = await driver.execute("PRAGMA wal_checkpoint(PASSIVE)")
        try:
            _busy, frames, copied = await cursor.fetchone()
        finally:
            await cursor.close()
        return int(frames), int(copied)


def _install_sqlite_pragmas(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # aiosqlite's adapter: let SQLAlchemy drive transactions (BEGIN emitted below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
        cursor.close()

    sync_engine = engine.sync_engine
    sync_engine._tandem_reader = sync_engine.execution_options(**{READ_ONLY: True})  # type: ignore[attr-defined]
    sync_engine._tandem_gate = _WriteGate()  # type: ignore[attr-defined]

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        read_only = conn.get_execution_options().get(READ_ONLY)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


class TandemSession(Session):
    """A Session whose transactions without `session.begin()` read from a deferred SQLite snapshot (see
    the module doc). On PostgreSQL it is a plain Session."""

    def get_bind(self, mapper: Any = None, **kw: Any) -> Any:
        bind = super().get_bind(mapper, **kw)
        reader = getattr(bind, "_tandem_reader", None)
        if reader is None:
            return bind
        transaction = self.get_transaction()
        if transaction is None or transaction.origin is SessionTransactionOrigin.AUTOBEGIN:
            return reader
        return bind


class _WriteGate:
    """One writing transaction at a time in this process, in arrival order (see the module doc): an asyncio
    lock per event loop (tests run one loop after another)."""

    def __init__(self) -> None:
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    async def acquire(self) -> asyncio.Lock:
        lock = self._locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())
        try:
            async with asyncio.timeout(GATE_TIMEOUT):
                await lock.acquire()
        except TimeoutError:
            raise sqlite3.OperationalError(
                f"database is locked: waited {GATE_TIMEOUT:g} s for this process's other writer"
            ) from None
        return lock


class _GatedTransaction(AsyncSessionTransaction):
    """`session.begin()` on SQLite: takes the write gate, then begins; lets it go after COMMIT or ROLLBACK."""

    def __init__(self, session: AsyncSession, gate: _WriteGate) -> None:
        super().__init__(session)
        self.gate = gate
        self.held: asyncio.Lock | None = None

    async def __aenter__(self) -> AsyncSessionTransaction:
        self.held = await self.gate.acquire()
        try:
            return await super().__aenter__()
        except BaseException:
            self.held.release()
            self.held = None
            raise

    async def __aexit__(self, *exc: Any) -> None:
        try:
            await super().__aexit__(*exc)
        finally:
            if self.held is not None:
                self.held.release()
                self.held = None


class TandemAsyncSession(AsyncSession):
    """On SQLite, `session.begin()` (a transaction that may write) first waits for the write gate."""

    def begin(self) -> AsyncSessionTransaction:
        gate = getattr(self.sync_session.bind, "_tandem_gate", None)
        return _GatedTransaction(self, gate) if gate is not None else super().begin()


def connection_lost(exc: BaseException) -> bool:
    """The database connection failed (the server restarted, or is down): not the request's fault. The
    HTTP edge answers such a request 503 with Retry-After (bot/app.py), whichever platform sent it."""
    if isinstance(exc, DBAPIError):
        return bool(exc.connection_invalidated) or isinstance(exc, OperationalError | InterfaceError)
    return isinstance(exc, ConnectionError)


def conflicting_write(exc: BaseException) -> bool:
    """A write refused by a unique or foreign-key constraint: on PostgreSQL, what two requests racing for
    the same thing (one channel, one name) meet; the transaction is gone, nothing of it was written."""
    return isinstance(exc, IntegrityError)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        engine, class_=TandemAsyncSession, expire_on_commit=False, sync_session_class=TandemSession
    )
