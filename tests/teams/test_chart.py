"""The trust poll's trend chart in Teams: a released report reaches a Teams channel with the chart, read
from the database at send time, inline (a `data:` URI that decodes to the PNG), or, when the card would be
too large, as a link Tandem serves itself from the database (TANDEM_PUBLIC_URL, any replica) or a line
saying why it is not shown. Real activities over HTTP, the real flow (members answer on the local adapter),
the real delivery worker and the fake Bot Connector."""

from __future__ import annotations

import base64
import io
import json
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image as PILImage

from adapters.teams.cards import INLINE_CARD_BYTES, card_bytes
from bot.app import mount_images
from bot.runtime import Runtime
from bot.settings import Settings
from flows.content.instruments import instruments
from flows.core.clock import ManualClock
from storage import images, pulse
from storage.images import StoredImage
from tests.pulse.conftest import set_chart
from tests.teams.conftest import INSTALLED_CHANNEL as CHANNEL
from tests.teams.conftest import FakeConnector, TeamsRig, make_rig

SCHEMA = json.loads((Path(__file__).parent / "data" / "adaptive-card-1.5.schema.json").read_text())
START = datetime(2026, 10, 5, 16, 0, tzinfo=UTC)
PUBLIC = "https://tandem.example.org"
SECRET = "test-secret-key-not-for-production"


@pytest.fixture
def no_public_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TANDEM_PUBLIC_URL", raising=False)


@pytest.fixture
async def chart_rig(
    no_public_url: None, database_url: str, clock: ManualClock, connector: FakeConnector
) -> AsyncIterator[TeamsRig]:
    async for value in make_rig(database_url, clock, connector, sends_per_second=0):
        yield value


@pytest.fixture
async def public_rig(
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    clock: ManualClock,
    connector: FakeConnector,
) -> AsyncIterator[TeamsRig]:
    monkeypatch.setenv("TANDEM_PUBLIC_URL", PUBLIC + "/")
    monkeypatch.setenv("TANDEM_SECRET_KEY", SECRET)
    async for value in make_rig(database_url, clock, connector, sends_per_second=0):
        yield value


def _spec() -> dict[str, Any]:
    members = [
        {"name": f"Labor {i}", "side": "labor", "co_chair": i == 0, "local": f"l{i}"} for i in range(4)
    ] + [
        {"name": f"Manager {i}", "side": "management", "co_chair": i == 0, "local": f"m{i}"} for i in range(4)
    ]
    return {
        "name": "Riverside Solutions Team",
        "timezone": "America/Los_Angeles",
        "channels": [{"platform": "teams", "id": CHANNEL, "name": "Solutions Team"}],
        "members": members,
    }


async def _release(rig: TeamsRig) -> tuple[int, StoredImage]:
    """Install in the team, run a poll to release on the local adapter; the poll and its chart as stored.
    The report waits in the outbox (the caller may change the stored chart first, then deliver)."""
    rig.clock.set(START)
    team = await rig.import_team(_spec())
    assert (await rig.post(rig.activity("conversation_update_bot_added_to_team")))[0] == 200
    await rig.local.command("l0", "pulse start")
    await rig.deliver()
    items = {item.id: "4" for item in instruments()["relational-trust"].items}
    for user in ("l1", "l2", "l3", "m1", "m2"):
        await rig.local.click(user, "pulse.answer", "1")
        form = rig.local.last_form
        assert form is not None
        await rig.local.submit(user, form, items)
    await rig.local.command("m0", "pulse close")
    async with rig.runtime.sessions() as session:
        poll = await pulse.latest_released(session, team.id)
        assert poll is not None
        chart = await images.load(session, images.chart_name(poll.id))
    assert chart is not None
    rig.connector.calls.clear()
    return poll.id, chart


def _report_post(rig: TeamsRig) -> dict[str, Any]:
    """The report card posted in the Teams channel, valid against the Adaptive Card 1.5 schema."""
    [post] = [c for c in rig.connector.sends() if "Self-Assessment — results" in rig.connector.text(c)]
    assert post.conversation == CHANNEL
    card = rig.connector.card(post)
    jsonschema.Draft6Validator(SCHEMA).validate(card)
    return card


def _text(card: dict[str, Any]) -> str:
    return "\n".join(b.get("text", "") for b in card["body"] if b["type"] == "TextBlock")


def _images(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in card["body"] if b["type"] == "Image"]


async def _noise_chart(rig: TeamsRig, poll_id: int, side: int = 160) -> bytes:
    """Store a valid PNG far too large to inline (random pixels do not compress) as the poll's chart."""
    image = PILImage.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    await set_chart(rig.runtime.sessions, poll_id, buffer.getvalue())
    return buffer.getvalue()


async def test_the_released_report_carries_the_chart_inline(chart_rig: TeamsRig) -> None:
    _, chart = await _release(chart_rig)
    await chart_rig.deliver()
    card = _report_post(chart_rig)
    [image] = _images(card)
    prefix = "data:image/png;base64,"
    assert image["url"].startswith(prefix)
    png = base64.b64decode(image["url"].removeprefix(prefix), validate=True)
    assert png == chart.content
    with PILImage.open(io.BytesIO(png)) as decoded:
        decoded.load()
        assert decoded.format == "PNG" and decoded.size == (640, 340)
        assert decoded.text["Description"].startswith("Series: Mutual Respect")  # type: ignore[attr-defined]
    assert "Relational Trust" in image["altText"]
    assert card_bytes(card) <= INLINE_CARD_BYTES
    # what went over the wire is the whole activity: it too stays within the limit, with room to spare
    [post] = [c for c in chart_rig.connector.sends() if c.body["attachments"][0]["content"] == card]
    assert len(json.dumps(post.body).encode()) < INLINE_CARD_BYTES + 2_000
    assert "tandem-image" not in json.dumps(post.body)  # never our own reference


async def test_a_chart_too_large_to_inline_becomes_a_line_saying_why(chart_rig: TeamsRig) -> None:
    poll_id, _ = await _release(chart_rig)
    big = await _noise_chart(chart_rig, poll_id)
    assert len(base64.b64encode(big)) > INLINE_CARD_BYTES
    await chart_rig.deliver()
    card = _report_post(chart_rig)
    assert _images(card) == []
    text = _text(card)
    assert "Chart not shown" in text and "too large" in text and "TANDEM_PUBLIC_URL" in text
    assert "data:" not in json.dumps(card) and "tandem-image" not in json.dumps(card)


async def test_a_chart_no_longer_stored_is_said_not_shown(chart_rig: TeamsRig) -> None:
    poll_id, _ = await _release(chart_rig)
    await set_chart(chart_rig.runtime.sessions, poll_id, None)
    await chart_rig.deliver()
    card = _report_post(chart_rig)
    assert _images(card) == []
    assert "Chart not shown" in _text(card) and "not available" in _text(card)


async def test_with_a_public_url_a_large_chart_is_a_signed_link_we_serve(public_rig: TeamsRig) -> None:
    poll_id, chart = await _release(public_rig)
    big = await _noise_chart(public_rig, poll_id)
    await public_rig.deliver()
    card = _report_post(public_rig)
    [image] = _images(card)
    assert image["url"].startswith(f"{PUBLIC}/images/") and image["url"].endswith(f"/{chart.name}")
    path = image["url"].removeprefix(PUBLIC)
    response = await public_rig.client.get(path)
    assert response.status == 200 and response.headers["Content-Type"] == "image/png"
    assert await response.read() == big
    # the link is unguessable: the file name alone, or another signature, gets nothing
    signature = path.split("/")[2]
    assert len(signature) == 32
    forged = "A" * 32 if signature != "A" * 32 else "B" * 32
    for wrong in (f"/images/{forged}/{chart.name}", f"/images/{signature}/other.png", f"/{chart.name}"):
        assert (await public_rig.client.get(wrong)).status == 404
    traversal = await public_rig.client.get(f"/images/{signature}/..%2F..%2Fetc%2Fpasswd")
    assert traversal.status == 404
    # a chart no longer stored: the link, though signed, gets nothing
    await set_chart(public_rig.runtime.sessions, poll_id, None)
    assert (await public_rig.client.get(path)).status == 404


async def test_a_signed_link_is_served_from_the_database_by_another_replica(
    public_rig: TeamsRig, database_url: str
) -> None:
    """Another Tandem on the same database, with the same TANDEM_SECRET_KEY and none of this one's files
    (a second replica, or this one after a restart), serves the link this one sent."""
    poll_id, _ = await _release(public_rig)
    big = await _noise_chart(public_rig, poll_id)
    await public_rig.deliver()
    [image] = _images(_report_post(public_rig))
    path = image["url"].removeprefix(PUBLIC)
    other = Runtime(Settings(TANDEM_DATABASE_URL=database_url))  # type: ignore[call-arg]
    app = web.Application()
    mount_images(app, other.images)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        response = await client.get(path)
        assert response.status == 200 and await response.read() == big
    finally:
        await client.close()
        await other.db.dispose()


async def test_with_a_public_url_a_small_chart_still_goes_inline(public_rig: TeamsRig) -> None:
    await _release(public_rig)
    await public_rig.deliver()
    [image] = _images(_report_post(public_rig))
    assert image["url"].startswith("data:image/png;base64,")
