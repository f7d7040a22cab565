"""Teams through `tandem serve` with a worker process (TANDEM_WORKER_PROCESS=on), on SQLite and PostgreSQL:
the front runs the turn and hands the event over; the worker's engine answers (an invoke's body comes back
through the link) and its delivery worker posts the reply to the Bot Connector named by `serviceUrl`."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from tests.serve_process import Served, tandem_serve
from tests.teams.conftest import FakeConnector, fixture


async def _post(served: Served, activity: dict[str, Any]) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{served.url}/api/messages", json=activity) as response,
    ):
        text = await response.text()
        return response.status, (await response.json() if text else None)


async def _sends(connector: FakeConnector, count: int) -> list[Any]:
    deadline = time.monotonic() + 30
    while len(connector.sends()) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return connector.sends()


async def test_teams_turns_run_here_and_the_engine_and_replies_in_the_worker(
    database_url: str, connector: FakeConnector
) -> None:
    env = {"TANDEM_DATABASE_URL": database_url, "TANDEM_WORKER_PROCESS": "on"}  # no app id: loopback dev
    async with tandem_serve(env) as served:
        message = fixture("invoke_adaptive_card_action_execute")  # a personal chat, as a message
        message.update(type="message", text="help", id="1767765488999", serviceUrl=connector.url)
        for key in ("name", "value"):
            message.pop(key)
        assert (await _post(served, message))[0] == 200
        [send] = await _sends(connector, 1)
        assert send.conversation == message["conversation"]["id"]
        assert "What Tandem can do" in connector.text(send)

        invoke = fixture("invoke_adaptive_card_action_execute")
        invoke["serviceUrl"] = connector.url
        status, body = await _post(served, invoke)
        assert status == 200
        assert body == {
            "statusCode": 200,
            "type": "application/vnd.microsoft.activity.message",
            "value": "Got it.",
        }
        sends = await _sends(connector, 2)
        assert len(sends) == 2 and "no longer in use" in connector.text(sends[1])
    assert served.process.returncode == 0, served.output
    assert "Traceback" not in served.output
