"""Shared fixtures. A test that touches storage runs on SQLite; one marked `both_databases` (storage
behaviour: constraints, locking, concurrency, aggregates, privacy) on PostgreSQL as well.

PostgreSQL comes from TANDEM_TEST_POSTGRES_URL (default: the local server, user postgres). A fresh
database is created for the test session and dropped afterwards; tests fail, not skip, if it is down.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.local import LocalAdapter
from bot.delivery import DeliveryWorker
from flows import default_flows
from flows.core.clock import ManualClock
from flows.core.engine import Engine
from flows.setup.team_file import import_team, parse_team_file
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import Team
from storage.schema import Base
from tests.reliability.figures import pytest_terminal_summary  # noqa: F401  (the suite's figures, printed)

# The server's secret, as every replica in production has one: it seals poll answers until close
# (bot/sealing_key.py). `tandem serve` subprocesses get the same (tests/serve_process.py).
TEST_SECRET_KEY = "tandem-tests-sealing-key"
os.environ.setdefault("TANDEM_SECRET_KEY", TEST_SECRET_KEY)

PG_ADMIN_URL = os.environ.get(
    "TANDEM_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def _admin(sql: str) -> None:
    engine = create_engine(PG_ADMIN_URL)
    try:
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(sql))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    name = f"tandem_test_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # fail loudly: CI must run the PostgreSQL half
        pytest.fail(
            f"PostgreSQL is required for the storage tests and is unreachable at {PG_ADMIN_URL}: {exc}"
        )
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_migrate(url))
    yield url
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


async def _empty_all(url: str, *, truncate: bool) -> None:
    """Every table emptied and every id sequence back at 1. DELETE is several times faster than TRUNCATE
    (which gives each of the ~40 tables a new file) and is what most tests get; the adversary's tests
    (tests/privacy/) read physical order (ctid), which dead rows a DELETE leaves behind could shuffle, so
    they get TRUNCATE's fresh files."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            if truncate:
                names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
                await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in reversed(Base.metadata.sorted_tables):
                    await connection.execute(text(f'DELETE FROM "{table.name}"'))
                restart = "SELECT setval(oid, 1, false) FROM pg_class WHERE relkind = 'S'"  # every sequence
                await connection.execute(text(restart))
    finally:
        await engine.dispose()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test that takes `database_url` runs on SQLite; marked `both_databases` (a storage behaviour:
    constraints, locking, concurrency, aggregates, what an adversary reads), on PostgreSQL too."""
    if "database_url" in metafunc.fixturenames:
        both = metafunc.definition.get_closest_marker("both_databases") is not None
        metafunc.parametrize("database_url", ["sqlite", "postgresql"] if both else ["sqlite"], indirect=True)


def pytest_collection_finish(session: pytest.Session) -> None:
    """What is loaded by now (SQLAlchemy, botbuilder, slack-bolt, every test module) lives for the whole
    run: out of the garbage collector's sight, as `tandem serve` does it (bot/cli.py), and young objects
    looked at less often. The collector was about 8 % of the suite's CPU; this halves it."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(7000, 20, 20)


@pytest.fixture(autouse=True, scope="session")
def _each_chart_drawn_once() -> Iterator[None]:
    """Each distinct chart is drawn once per test process, by the real `render_lines`; asked for again with
    the same input, the same bytes come back (drawing is pure: tests/pulse/test_report.py checks it on
    `__wrapped__`). Drawing is about 0.15 s of CPU, and many tests release the same poll's chart."""
    import flows.checkins.trend
    import flows.core.chart
    import flows.pulse.chart

    draw = flows.core.chart.render_lines
    drawn: dict[str, bytes] = {}

    @functools.wraps(draw)
    def remembered(*args: Any, **kwargs: Any) -> bytes:
        key = repr((args, sorted(kwargs.items())))
        if key not in drawn:
            drawn[key] = draw(*args, **kwargs)
        return drawn[key]

    modules = (flows.core.chart, flows.pulse.chart, flows.checkins.trend)
    with pytest.MonkeyPatch.context() as patch:
        for module in modules:
            patch.setattr(module, "render_lines", remembered)
        yield


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `slow` run first. pytest-xdist's worksteal gives each worker a contiguous share of this
    list and an idle worker takes tests from the end of another's: with the slow ones at the front, the last
    minutes are short tests that either worker can take, and neither waits for the other at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database of the kind the test is parametrised with."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "tandem.db"
        shutil.copy(template, path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    asyncio.run(_empty_all(url, truncate="privacy" in request.node.path.parts))
    return url


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 10, 20, 16, 0, tzinfo=UTC))


@dataclass
class Stack:
    """The real engine, outbox, delivery worker and local adapter on one database."""

    sessions: async_sessionmaker[AsyncSession]
    clock: ManualClock
    engine: Engine
    worker: DeliveryWorker
    local: LocalAdapter

    async def import_team(self, spec: dict[str, Any]) -> Team:
        async with self.sessions() as session, session.begin():
            return await import_team(session, parse_team_file(spec), self.clock.now())

    async def run_until(self, when: datetime) -> None:
        """Move the clock to `when`, tick and deliver."""
        self.clock.set(when)
        await self.engine.tick()
        await self.worker.drain()


@pytest.fixture
def stack(sessions: async_sessionmaker[AsyncSession], clock: ManualClock) -> Stack:
    local = LocalAdapter()
    worker = DeliveryWorker(sessions, {"local": local}, clock, base_backoff=1.0)
    engine = Engine(sessions, clock, default_flows(), courier=worker)
    local.handle = engine.handle
    return Stack(sessions, clock, engine, worker, local)


def team_spec(**overrides: Any) -> dict[str, Any]:
    """A valid team file as a dict: two co-chairs (labor, management) and four members."""
    spec: dict[str, Any] = {
        "name": "Test Solutions Team",
        "timezone": "America/Los_Angeles",
        "norms": "seven-norms",
        "channels": [{"platform": "local", "id": "team-channel", "name": "#team"}],
        "meeting": {
            "rrule": "FREQ=WEEKLY;BYDAY=TU",
            "start": "2026-09-01T16:00:00",
            "reminder_minutes_before": 30,
        },
        "members": [
            {"name": "Ana Labor", "side": "labor", "co_chair": True, "local": "ana"},
            {"name": "Ben Manager", "side": "management", "co_chair": True, "local": "ben"},
            {"name": "Cy Teacher", "side": "labor", "local": "cy"},
            {"name": "Di Principal", "side": "management", "local": "di"},
            {"name": "Ed Board", "side": "board", "local": "ed"},
            {"name": "Fay Parent", "side": "community", "local": "fay"},
        ],
    }
    spec.update(overrides)
    return spec
