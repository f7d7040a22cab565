"""`tandem serve` with a worker process (TANDEM_WORKER_PROCESS=on), on SQLite and PostgreSQL: the front
acknowledges signed Slack requests, the worker records them and replies; a worker killed mid-run is
replaced; SIGTERM stops both."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp
import psutil

from tests.serve_process import Served, tandem_serve
from tests.slack.conftest import BOT_TOKEN, SIGNING_SECRET, FakeSlack, fixture, sign


async def _post(served: Served, body: bytes, content_type: str, *, signed_at: int | None = None) -> int:
    headers = {"Content-Type": content_type, **sign(body, signed_at)}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{served.url}/slack/events", data=body, headers=headers) as response,
    ):
        return response.status


async def _command(served: Served, fake: FakeSlack, text: str, name: str) -> int:
    form = fixture("slash_command.json")
    form.update(text=text, trigger_id=f"{time.time_ns()}.1.x", response_url=fake.response_url(name))
    return await _post(served, urlencode(form).encode(), "application/x-www-form-urlencoded")


def _click(fake: FakeSlack) -> bytes:
    payload: dict[str, Any] = fixture("block_actions_button.json")
    payload["response_url"] = fake.response_url("click")
    payload["actions"][0].update(action_id="retired.button", value="1", action_ts="1700000001.000001")
    return urlencode({"payload": json.dumps(payload)}).encode()


async def _responses(fake: FakeSlack, name: str, count: int, *, within: float = 30.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + within
    while True:
        found = [body for n, body in fake.responses if n == name]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.05)


async def test_the_front_acknowledges_and_the_worker_process_records_and_replies(
    database_url: str, fake_slack: FakeSlack
) -> None:
    env = {
        "TANDEM_DATABASE_URL": database_url,
        "TANDEM_WORKER_PROCESS": "on",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": fake_slack.api_url,
    }
    async with tandem_serve(env) as served:
        health = await served.health()
        worker = health["worker"]
        assert isinstance(worker, dict) and worker["running"] and worker["restarts"] == 0
        first_worker = int(worker["pid"])
        assert first_worker != served.process.pid
        assert psutil.Process(first_worker).ppid() == served.process.pid

        assert await _command(served, fake_slack, "help", "help-1") == 200
        [reply] = await _responses(fake_slack, "help-1", 1)
        assert "What Tandem can do" in json.dumps(reply)

        click = _click(fake_slack)  # the same click delivered twice (a retry): one reply
        now = int(time.time())
        for signed_at in (now - 1, now):
            assert await _post(served, click, "application/x-www-form-urlencoded", signed_at=signed_at) == 200
        await _responses(fake_slack, "click", 1)
        await _responses(fake_slack, "click", 2, within=2.0)  # a second reply would come by now
        clicks = [body for name, body in fake_slack.responses if name == "click"]
        assert len(clicks) == 1 and "no longer in use" in json.dumps(clicks[0])

        os.kill(first_worker, signal.SIGKILL)  # the kernel's OOM killer, say
        deadline = time.monotonic() + 30
        while True:
            worker = (await served.health())["worker"]
            assert isinstance(worker, dict)
            if (worker["running"] and worker["restarts"] == 1) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        assert worker["running"] and worker["restarts"] == 1 and worker["pid"] != first_worker
        assert await _command(served, fake_slack, "help", "help-2") == 200
        assert len(await _responses(fake_slack, "help-2", 1)) == 1

        async with aiohttp.ClientSession() as http, http.get(f"{served.url}/metrics") as response:
            metrics = await response.text()
        assert 'tandem_deliveries_total{outcome="sent"} 1' in metrics  # the new worker's own count
        second_worker = int(worker["pid"])

    assert served.process.returncode == 0, served.output
    assert "Engine, schedules and delivery: in a worker process" in served.output
    assert "worker process stopped" in served.output  # it finished its work and exited on its own
    assert not psutil.pid_exists(second_worker) or psutil.Process(second_worker).status() == "zombie"
