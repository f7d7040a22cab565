"""kill -9 of `tandem serve` in the middle of a 500-member fan-out (a trust poll's invitations, one DM each)
through a fake Slack that answers every 20th message with 429 + Retry-After; started again, the new
process takes back the dead one's leased rows at once (same host: bot/process_identity.py) and every member
gets the invitation; the duplicates are at most the messages in flight at the kill, which are counted:
rows the dead process held whose message Slack had already accepted."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from flows.setup.team_file import import_team, parse_team_file
from storage.db import create_engine, session_factory
from storage.models import OutboxMessage
from tests.reliability.conftest import Figure
from tests.serve_process import eventually, tandem_serve
from tests.slack.conftest import (
    BOT_TOKEN,
    POLL_MEMBERS,
    SIGNING_SECRET,
    FakeSlack,
    SlackClient,
    slack_team_spec,
)

# Full size (bench/README.md's figures): TANDEM_RELIABILITY_FULL=1; the suite's default keeps CI short.
FULL = bool(os.environ.get("TANDEM_RELIABILITY_FULL"))
# PostgreSQL under serve at full size; in CI test_replicas.py has it
pytestmark = [pytest.mark.slow, *([pytest.mark.both_databases] if FULL else [])]
MEMBERS = 500 if FULL else 100
KILL_AT = MEMBERS * 2 // 5  # invitations accepted by Slack before the kill
THROTTLE_EVERY = 20 if FULL else 40  # every 20th (40th) chat.postMessage: 429, Retry-After: 1; each costs
# the workspace a second's hold (adapters/slack/pacing.py), most of this test's time at 20


class ThrottlingSlack(FakeSlack):
    """The fake Slack, a little slow (5 ms a message), answering every THROTTLE_EVERY-th chat.postMessage with
    429."""

    posts = 0
    throttled = 0
    held = 0  # messages posted whose answer waits for `release`: in flight when the test kills the sender

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()  # until set, every answer after the KILL_AT-th message waits: the
        # kill lands in the middle of the fan-out however fast the machine is

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["method"] == "chat.postMessage":
            self.posts += 1
            if self.posts % THROTTLE_EVERY == 0:
                self.throttled += 1
                return web.json_response(
                    {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"}
                )
            await asyncio.sleep(0.005)
            if self.posts > KILL_AT and not self.release.is_set():
                answer = await super()._api(request)  # Slack has posted it; its answer is slow to come
                self.held += 1
                await self.release.wait()
                return answer
        return await super()._api(request)

    def invitations(self) -> Counter[str]:
        """Accepted DMs per member (the fan-out's only DMs)."""
        return Counter(
            str(c.args["channel"])[1:]
            for c in self.called("chat.postMessage")
            if str(c.args["channel"]).startswith("D")
        )


@pytest.fixture
async def throttling_slack() -> AsyncIterator[ThrottlingSlack]:
    fake = ThrottlingSlack()
    fake.server = TestServer(fake.app(), host="127.0.0.1")
    await fake.server.start_server()
    yield fake
    await fake.server.close()


def _team() -> dict[str, object]:
    extra = [
        {"name": f"Member {i:04d}", "side": ("labor", "management")[i % 2], "slack": f"U{i:05d}"}
        for i in range(MEMBERS - len(POLL_MEMBERS))
    ]
    return slack_team_spec(members=[*POLL_MEMBERS, *extra])


async def _held_rows(database_url: str, status: str = "sending") -> list[tuple[str, str | None]]:
    """(member, process) of every outbox row still leased ("sending") but home refreshes (which the
    fan-out also queues, one a member, sent with views.publish)."""
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            rows = (
                await session.execute(
                    select(OutboxMessage.target, OutboxMessage.claimed_by).where(
                        OutboxMessage.status == "sending"
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    return [(str(t.get("user") or t.get("address") or ""), who) for t, who in rows if not t.get("home")]


def _all_sent(database_url: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await _unsent(database_url) == 0

    return check


async def _unsent(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            statuses = (await session.execute(select(OutboxMessage.status))).scalars()
            return sum(1 for s in statuses if s in ("pending", "sending"))
    finally:
        await engine.dispose()


async def test_kill_9_mid_fanout_loses_nothing_and_duplicates_only_what_was_in_flight(
    database_url: str, throttling_slack: ThrottlingSlack, figure: Figure
) -> None:
    fake = throttling_slack
    engine = create_engine(database_url)
    async with session_factory(engine)() as session, session.begin():
        await import_team(session, parse_team_file(_team()), datetime.now(UTC))
    await engine.dispose()
    env = {
        "TANDEM_DATABASE_URL": database_url,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": fake.api_url,
    }
    async with tandem_serve(env) as served, aiohttp.ClientSession() as http:
        first_process = (await served.health())["process"]
        slack = SlackClient(http, fake, f"{served.url}/slack/events")
        asked = time.monotonic()
        assert (await slack.command("pulse start", user="W111", channel="C111")).status == 200
        await eventually(lambda: fake.invitations(), "the first invitation", within=60)
        first_sent = time.monotonic() - asked
        await eventually(lambda: fake.held > 0, "the fan-out under way", within=60)
        os.kill(served.process.pid, signal.SIGKILL)  # no shutdown of any kind
        await served.process.wait()
    assert served.process.returncode == -signal.SIGKILL
    fake.release.set()
    before = fake.invitations()
    held = await _held_rows(database_url)
    assert {who for _, who in held} <= {first_process["id"]}
    in_flight = sorted(member for member, _ in held if before[member])  # accepted, never recorded
    assert 0 < len(before) < MEMBERS, "the kill must land in the middle of the fan-out"

    started = time.monotonic()
    async with tandem_serve(env) as served:
        health = await served.health()
        healthy = time.monotonic() - started
        assert health["process"]["id"] != first_process["id"]
        await eventually(lambda: len(fake.invitations()) == MEMBERS, "every member's invitation", within=60)
        recovery = time.monotonic() - started
        await eventually(_all_sent(database_url), "the whole outbox sent", within=60)
    after = fake.invitations()
    duplicates = sorted(m for m, n in after.items() if n > 1)
    assert set(after) == {m["slack"] for m in _team()["members"]}  # type: ignore[attr-defined]
    assert set(duplicates) <= set(in_flight)
    assert len(duplicates) <= 16  # at most one chunk (the worker sends 16 at once)
    assert fake.throttled > 0
    figure("members", MEMBERS)
    figure("invitations accepted before the kill", sum(before.values()))
    figure("rows leased by the killed process", len(held))
    figure("in flight at the kill (accepted by Slack, not recorded)", len(in_flight))
    figure("duplicates after the restart", len(duplicates))
    figure("429 answers", fake.throttled)
    figure("rows taken back at start", health["holds"]["released_at_start"])  # type: ignore[index]
    figure("restart to every member served (s)", round(recovery, 1))
    figure("restart to healthy (s)", round(healthy, 1))
    figure("pulse start to the first invitation (s)", round(first_sent, 1))
