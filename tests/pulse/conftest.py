"""Pulse test helpers: a team big enough for the side view, answering through the local adapter."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import images, pulse
from storage.pulse_models import PulsePoll
from tests.conftest import Stack, team_spec


def big_team(labor: int = 6, management: int = 6, others: int = 0, **overrides: Any) -> dict[str, Any]:
    """Co-chairs l0 (labor) and m0 (management), then labor l1.., management m1.., board o0.."""
    members = [
        {"name": f"Labor {i}", "side": "labor", "co_chair": i == 0, "local": f"l{i}"} for i in range(labor)
    ]
    members += [
        {"name": f"Manager {i}", "side": "management", "co_chair": i == 0, "local": f"m{i}"}
        for i in range(management)
    ]
    members += [{"name": f"Board {i}", "side": "board", "local": f"o{i}"} for i in range(others)]
    return team_spec(members=members, **overrides)


def all_items(value: int = 4) -> dict[str, str]:
    from flows.content.instruments import instruments

    return {item.id: str(value) for item in instruments()["relational-trust"].items}


async def current_poll(stack: Stack, team_id: int) -> pulse.PollView:
    async with stack.sessions() as session:
        poll = await pulse.open_poll(session, team_id)
    assert poll is not None
    return poll


async def answer(stack: Stack, user: str, poll_id: int, values: dict[str, str]) -> None:
    """Click the invitation's button, then submit the form it opened."""
    await stack.local.click(user, "pulse.answer", str(poll_id))
    form = stack.local.last_form
    assert form is not None, stack.local.transcript[-1].text if stack.local.transcript else "no form"
    await stack.local.submit(user, form, values)
    await stack.worker.drain()


async def stored_chart(sessions: async_sessionmaker[AsyncSession], team_id: int, png: bytes) -> str:
    """A released poll of the team whose stored chart is `png` (any bytes); the card's reference to it."""
    from flows.content.instruments import instruments

    now = datetime(2026, 10, 5, 16, 0, tzinfo=UTC)
    async with sessions() as session, session.begin():
        poll = await pulse.add_poll(
            session,
            team_id=team_id,
            instrument_id="relational-trust",
            instrument=instruments()["relational-trust"].to_data(),
            status=pulse.RELEASED,
            min_responses=5,
            invited=6,
            remind_days=[],
            sides_recorded=False,
            opened_at=now,
            opened_local="2026-10-05T09:00:00",
            closes_at=now,
            closed_at=now,
            respondents=5,
        )
        await pulse.store_chart(session, poll.id, png)
    return images.chart_ref(poll.id)


async def set_chart(sessions: async_sessionmaker[AsyncSession], poll_id: int, png: bytes | None) -> None:
    """Replace a poll's stored chart (None: as if it had none)."""
    async with sessions() as session, session.begin():
        await session.execute(update(PulsePoll).where(PulsePoll.id == poll_id).values(chart_png=png))
