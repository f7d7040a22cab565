"""The worker process (TANDEM_WORKER_PROCESS): events cross to a real `python -m bot.worker_process`, on
SQLite and PostgreSQL; a worker that dies is replaced and nothing it held is lost or recorded twice."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
from sqlalchemy import func, select

from bot.engine_link import EngineLink
from bot.worker_process import frame, read_frame
from flows.types import Actor, Choice, CommandEvent, Conversation, Form, Question, Text
from storage.db import create_engine, session_factory
from storage.models import OutboxMessage, ProcessedEvent
from tests.conftest import TEST_SECRET_KEY


@pytest.fixture
def worker_env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> str:
    """The worker reads its settings from the environment, as under `tandem serve`: this database only."""
    for name in list(os.environ):
        if name.startswith(("TANDEM_", "SLACK_", "MICROSOFT_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TANDEM_DATABASE_URL", database_url)
    monkeypatch.setenv("TANDEM_SECRET_KEY", TEST_SECRET_KEY)
    return database_url


def help_command(key: str, user: str = "cy") -> CommandEvent:
    return CommandEvent(
        Actor("local", user), Conversation("local", f"dm-{user}", is_direct=True), "help", key
    )


async def counts(database_url: str) -> tuple[int, int]:
    """(events recorded, replies queued)."""
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            events = await session.scalar(select(func.count()).select_from(ProcessedEvent))
            replies = await session.scalar(select(func.count()).select_from(OutboxMessage))
            return int(events or 0), int(replies or 0)
    finally:
        await engine.dispose()


async def test_events_run_through_the_engine_in_the_worker_process(worker_env: str) -> None:
    link = EngineLink(restart_delay=0.05)
    await link.start()
    try:
        assert await link.handle(help_command("local:help:1")) is None
        assert link.pid is not None and link.pid != os.getpid()
        assert await counts(worker_env) == (1, 1)  # the reply waits in the outbox (no adapter there)
        # the same event again (a platform's retry): the worker's engine drops it
        assert await link.handle(help_command("local:help:1")) is None
        await asyncio.gather(*(link.handle(help_command(f"local:help:{i}", f"p{i}")) for i in range(2, 12)))
        assert await counts(worker_env) == (11, 11)
        stats = await link.stats()
        assert set(stats) == {"ticks", "sent", "retried", "failed"}
        # Ctrl-C reaches the whole process group: the worker leaves stopping to the front
        assert link.pid is not None
        os.kill(link.pid, signal.SIGINT)
        os.kill(link.pid, signal.SIGTERM)
        assert await link.handle(help_command("local:help:after-signals")) is None
        assert link.restarts == 0
    finally:
        await link.stop()
    assert link.process is not None and link.process.returncode == 0  # it stopped cleanly, not killed
    with pytest.raises(RuntimeError, match="stopping"):
        await link.handle(help_command("local:help:late"))


async def test_a_worker_that_dies_holding_events_is_replaced_and_they_run_once(worker_env: str) -> None:
    link = EngineLink(restart_delay=0.05)
    await link.start()
    try:
        assert await link.handle(help_command("local:help:warm")) is None
        first = link.pid
        assert first is not None
        os.kill(first, signal.SIGSTOP)  # it can no longer answer: the events wait on the link
        held = [asyncio.create_task(link.handle(help_command(f"local:help:{i}", f"p{i}"))) for i in range(5)]
        await asyncio.sleep(0.2)
        assert not any(task.done() for task in held)
        os.kill(first, signal.SIGKILL)
        assert await asyncio.wait_for(asyncio.gather(*held), timeout=60) == [None] * 5
        assert link.restarts == 1 and link.pid != first and link.alive
        assert await counts(worker_env) == (6, 6)
    finally:
        await link.stop()


async def test_the_wire_carries_events_and_forms_whole() -> None:
    form = Form(
        "pulse.submit.7",
        "Trust pulse",
        (
            Text("Answer for yourself; nobody sees who said what."),
            Question(
                "q1", "Co-chairs keep their word.", (Choice("1", "Strongly disagree"), Choice("5", "Agree"))
            ),
        ),
        metadata="poll=7",
    )
    event = help_command("slack:cmd:1")

    reader = asyncio.StreamReader()
    reader.feed_data(frame(("handle", 1, event)) + frame(("ok", 1, form)))
    reader.feed_eof()
    assert await read_frame(reader) == ("handle", 1, event)
    assert await read_frame(reader) == ("ok", 1, form)
    assert await read_frame(reader) is None
