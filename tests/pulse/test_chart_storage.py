"""A released poll's chart is stored with the poll in the database; the report names it as a
`tandem-image:` reference, and `pulse results` draws it again for a poll released without one."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from PIL import Image as PILImage

from storage import images, outbox
from tests.conftest import Stack
from tests.pulse.conftest import all_items, answer, big_team, current_poll, set_chart

pytestmark = pytest.mark.both_databases  # a storage behaviour: on PostgreSQL as well (tests/conftest.py)

START = datetime(2026, 10, 5, 16, 0, tzinfo=UTC)


async def _release(stack: Stack) -> int:
    stack.clock.set(START)
    team = await stack.import_team(big_team())
    await stack.local.command("l0", "pulse start")
    poll = await current_poll(stack, team.id)
    for user in ("l1", "l2", "l3", "m1", "m2"):
        await answer(stack, user, poll.id, all_items(4))
    await stack.local.command("m0", "pulse close")
    await stack.worker.drain()
    return poll.id


async def _image_urls(stack: Stack) -> list[str]:
    async with stack.sessions() as session:
        return [
            element["url"]
            for message in await outbox.messages(session)
            for element in (message.payload or {}).get("elements", [])
            if element.get("type") == "image"
        ]


async def test_the_released_chart_is_stored_with_the_poll_and_named_by_the_report(stack: Stack) -> None:
    poll_id = await _release(stack)
    urls = await _image_urls(stack)
    assert urls == [f"tandem-image:pulse-chart-{poll_id}.png"] * 3  # the channel and each co-chair
    async with stack.sessions() as session:
        chart = await images.load(session, images.chart_name(poll_id))
        assert await images.load(session, "pulse-chart-999.png") is None
        assert await images.load(session, "../pulse-chart-1.png") is None
    assert chart is not None and chart.name == f"pulse-chart-{poll_id}.png"
    with PILImage.open(io.BytesIO(chart.content)) as decoded:
        assert decoded.format == "PNG" and decoded.size == (640, 340)
    assert any("tandem-image:pulse-chart-" in e.text for e in stack.local.transcript)


async def test_results_of_a_poll_released_without_a_stored_chart_draw_and_store_it(stack: Stack) -> None:
    """A poll released before charts lived in the database (its chart_path was dropped by the migration)."""
    poll_id = await _release(stack)
    await set_chart(stack.sessions, poll_id, None)
    async with stack.sessions() as session:
        assert not await images.has_chart(session, poll_id)

    await stack.local.command("l1", "pulse results")
    await stack.worker.drain()
    assert "Self-Assessment — results" in stack.local.transcript[-1].text
    assert f"tandem-image:pulse-chart-{poll_id}.png" in stack.local.transcript[-1].text
    async with stack.sessions() as session:
        chart = await images.load(session, images.chart_name(poll_id))
    assert chart is not None and chart.content.startswith(images.PNG_MAGIC)
