"""App Home, when a person opens it, goes out through the outbox like every other message: one row, sent by
the delivery worker (retried on Slack's 429 with its Retry-After), the view built when the row is sent."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from storage.models import OutboxMessage
from tests.slack.conftest import Scripted, SlackTandem, slack_team_spec


def _opened(user: str, event_id: str) -> dict[str, Any]:
    return {
        "type": "event_callback",
        "team_id": "T111",
        "event_id": event_id,
        "event_time": 1,
        "event": {"type": "app_home_opened", "user": user, "channel": "D222", "tab": "home"},
    }


async def _rows(tandem: SlackTandem) -> list[OutboxMessage]:
    async with tandem.runtime.sessions() as session:
        return list((await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())


async def test_an_opened_app_home_is_an_outbox_row_the_worker_publishes(tandem: SlackTandem) -> None:
    assert (await tandem.event(_opened("W222", "EvH1"))).status == 200
    await tandem.inbound.drain()  # the request is processed; the worker has not run
    assert tandem.fake.called("views.publish") == []
    [row] = await _rows(tandem)
    assert (row.platform, row.status) == ("slack", "pending")
    assert row.target == {"user": "W222", "workspace": "T111", "home": True}
    # W222 joins a team before the worker runs: the view shows the state when it is sent
    await tandem.import_team(slack_team_spec())
    assert await tandem.runtime.worker.drain() == 1
    [published] = tandem.fake.called("views.publish")
    assert published.args["user_id"] == "W222" and published.args["view"]["type"] == "home"
    assert "Slack Solutions Team" in json.dumps(published.args["view"])
    assert [r.status for r in await _rows(tandem)] == ["sent"]


async def test_a_rate_limited_home_is_retried_by_the_outbox(tandem: SlackTandem) -> None:
    await tandem.import_team(slack_team_spec())
    limited = Scripted(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "9"})
    tandem.fake.then("views.publish", limited)
    assert (await tandem.event(_opened("W222", "EvH2"))).status == 200
    await tandem.settle()
    [row] = await _rows(tandem)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at == tandem.clock.now() + timedelta(seconds=9)
    tandem.clock.advance(timedelta(seconds=9))
    await tandem.settle()
    assert len(tandem.fake.called("views.publish")) == 1
    assert [r.status for r in await _rows(tandem)] == ["sent"]


async def test_someone_on_no_team_gets_a_home_that_says_so(tandem: SlackTandem) -> None:
    assert (await tandem.event(_opened("W999", "EvH3"))).status == 200
    await tandem.settle()
    [published] = tandem.fake.called("views.publish")
    assert published.args["user_id"] == "W999"
    assert "not on a team yet" in json.dumps(published.args["view"])
