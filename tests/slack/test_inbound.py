"""POST /slack/events through the real slack-bolt AsyncApp, over real HTTP, with Slack-authored payloads."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from storage.models import OutboxMessage, ProcessedEvent
from tests.reliability.conftest import tracebacks
from tests.slack.conftest import (
    BOT_USER,
    FIXTURES,
    SlackTandem,
    fixture,
    sign,
    slack_team_spec,
    with_response_url,
)


async def _processed(tandem: SlackTandem) -> list[str]:
    async with tandem.runtime.sessions() as session:
        return list((await session.execute(select(ProcessedEvent.key))).scalars())


async def _outbox_rows(tandem: SlackTandem) -> int:
    async with tandem.runtime.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(OutboxMessage))).scalar_one())


def _texts(call_args: dict[str, Any]) -> str:
    return json.dumps(call_args.get("blocks", [])) + str(call_args.get("text", ""))


async def test_url_verification_is_answered_with_the_challenge(tandem: SlackTandem) -> None:
    body = json.dumps(fixture("url_verification.json")).encode()
    async with tandem.http.post(
        tandem.url, data=body, headers={"Content-Type": "application/json", **sign(body)}
    ) as response:
        assert response.status == 200
        assert fixture("url_verification.json")["challenge"] in await response.text()


async def test_a_request_leaves_the_level_of_tandems_loggers_alone(tandem: SlackTandem) -> None:
    """slack-bolt sets its app logger's level to the root's on every request; Tandem's loggers keep theirs
    (once, a request made while the root was at WARNING silenced Tandem's INFO lines for good)."""
    ours, root = logging.getLogger("tandem"), logging.getLogger()
    saved = ours.level, root.level
    try:
        ours.setLevel(logging.NOTSET)
        root.setLevel(logging.WARNING)
        body = json.dumps(fixture("url_verification.json")).encode()
        assert (await tandem.post(body, "application/json")).status == 200
        assert ours.level == logging.NOTSET
    finally:
        ours.setLevel(saved[0])
        root.setLevel(saved[1])


async def test_forged_stale_and_replayed_requests_get_401_and_store_nothing(tandem: SlackTandem) -> None:
    form = json.dumps(fixture("event_app_mention.json")).encode()
    forged = sign(form, secret="not-the-signing-secret")
    assert (await tandem.post(form, "application/json", headers=forged)).status == 401
    stale = sign(form, timestamp=int(time.time()) - 6 * 60)
    assert (await tandem.post(form, "application/json", headers=stale)).status == 401
    assert (await tandem.post(form, "application/json", signed=False)).status == 401
    tampered = sign(form)
    assert (await tandem.post(form + b" ", "application/json", headers=tampered)).status == 401

    good = sign(form)
    assert (await tandem.post(form, "application/json", headers=good)).status == 200
    await tandem.settle()
    assert await _processed(tandem) == ["slack:event:Ev111"]
    assert (await tandem.post(form, "application/json", headers=good)).status == 401  # replayed
    await tandem.settle()
    assert await _processed(tandem) == ["slack:event:Ev111"]


async def test_malformed_or_truncated_payloads_get_400_with_a_reason(tandem: SlackTandem) -> None:
    whole = json.dumps(fixture("event_app_mention.json")).encode()
    cases: list[tuple[bytes, str]] = [
        (whole[: len(whole) // 2], "application/json"),
        (b"[]", "application/json"),
        (b'{"type": "event_callback"}', "application/json"),
        (b"payload=%7Bnot-json", "application/x-www-form-urlencoded"),
        (
            b"payload=" + json.dumps({"type": "block_actions", "user": {"id": "W1"}}).encode(),
            "application/x-www-form-urlencoded",
        ),
        (b"command=%2Ftandem&text=help", "application/x-www-form-urlencoded"),
        (b"hello", "text/plain"),
        (b"\xff\xfe", "application/json"),
    ]
    for body, content_type in cases:
        async with tandem.http.post(
            tandem.url, data=body, headers={"Content-Type": content_type, **sign(body)}
        ) as response:
            assert response.status == 400, body
            assert (await response.json())["error"]
    big = fixture("block_actions_static_select.json")  # 122 KB, valid: fine
    assert (await tandem.interactive(big)).status == 200
    await tandem.settle()
    assert [k for k in await _processed(tandem) if k.startswith("slack:click")]


async def test_slash_command_replies_privately_through_the_response_url(tandem: SlackTandem) -> None:
    response = await tandem.command("help")
    assert response.status == 200
    await tandem.settle()
    assert len(tandem.fake.responses) == 1
    name, body = tandem.fake.responses[0]
    assert name == "W111-C111"
    assert body["response_type"] == "ephemeral"
    assert "/tandem help" in json.dumps(body["blocks"]) and body["text"] == "What Tandem can do"


async def test_a_command_whose_text_says_payload_is_still_a_command(tandem: SlackTandem) -> None:
    """slack-bolt's own parser reads any form body containing "payload" as an interactive payload (and
    gets {}); Tandem hands bolt the body it parsed itself, so the command is routed and answered."""
    assert (await tandem.command("payload please")).status == 200
    await tandem.settle()
    [(_, body)] = tandem.fake.responses
    assert "I don't know the command “payload”" in json.dumps(body, ensure_ascii=False)


async def test_a_command_from_a_member_is_answered_with_their_team(tandem: SlackTandem) -> None:
    await tandem.import_team(slack_team_spec())
    await tandem.command("norms")
    await tandem.settle()
    (_, body) = tandem.fake.responses[-1]
    assert "Seven Norms" in json.dumps(body["blocks"])


async def test_button_click_becomes_an_action_and_a_double_click_counts_once(tandem: SlackTandem) -> None:
    payload = with_response_url(fixture("block_actions_button.json"), tandem.fake.response_url("click"))
    first = await tandem.interactive(payload)
    payload["actions"][0]["action_ts"] = "1596530386.000001"  # the second click of a double click
    second = await tandem.interactive(payload)
    assert first.status == second.status == 200
    await tandem.settle()
    keys = [k for k in await _processed(tandem) if k.startswith("slack:click")]
    assert keys == ["slack:click:T111:W111:111.222:a:click_me_123"]
    assert len(tandem.fake.responses) == 1  # "That button is no longer in use." once
    assert "no longer in use" in tandem.fake.responses[0][1]["text"]


async def test_static_select_in_a_modal_carries_the_selected_value(tandem: SlackTandem) -> None:
    payload = fixture("block_actions_static_select.json")
    assert (await tandem.interactive(payload)).status == 200
    await tandem.settle()
    (key,) = [k for k in await _processed(tandem) if k.startswith("slack:click")]
    assert key.endswith(":a:" + "a" * 75)
    # no channel and no response_url: the answer goes to the person's DM with the bot
    (post,) = tandem.fake.called("chat.postMessage")
    assert post.args["channel"] == "DU12345678"


async def test_view_submission_becomes_an_action_with_the_form_values(tandem: SlackTandem) -> None:
    assert (await tandem.interactive(fixture("view_submission.json"))).status == 200
    await tandem.settle()
    assert await _processed(tandem) == ["slack:view:V111:W111"]
    (opened,) = tandem.fake.called("conversations.open")
    assert opened.args["users"] == "W111"


async def test_a_view_submission_with_two_response_urls_is_processed(
    tandem: SlackTandem, caplog: pytest.LogCaptureFixture
) -> None:
    """A modal whose conversation picker has `response_url_enabled` sends a response URL per conversation;
    with more than one, bolt's context building wrote a debug line to a logger the context did not have
    yet (KeyError) and a valid submit was refused (found by the fuzzing at full size)."""
    body = fixture("view_submission.json")
    body["response_urls"] = [
        {"block_id": "where", "action_id": "pick", "channel_id": c, "response_url": f"https://hooks/{c}"}
        for c in ("C111", "C222")
    ]
    assert (await tandem.interactive(body)).status == 200
    await tandem.settle()
    assert await _processed(tandem) == ["slack:view:V111:W111"]
    assert tracebacks(caplog) == []


async def test_app_mention_is_a_command_and_an_events_api_retry_is_recorded_once(tandem: SlackTandem) -> None:
    body = fixture("event_app_mention.json")
    body["event"]["text"] = f"<@{BOT_USER}> help"
    assert (await tandem.event(body)).status == 200
    raw = json.dumps(body).encode()
    retry = {
        "X-Slack-Retry-Num": "1",
        "X-Slack-Retry-Reason": "http_timeout",
        **sign(raw, int(time.time()) + 1),
    }
    assert (await tandem.post(raw, "application/json", headers=retry)).status == 200  # Slack re-signs a retry
    await tandem.settle()
    assert await _processed(tandem) == ["slack:event:Ev111"]
    (ephemeral,) = tandem.fake.called("chat.postEphemeral")
    assert ephemeral.args["channel"] == "C111" and ephemeral.args["user"] == "W222"
    assert "What Tandem can do" in _texts(ephemeral.args)


async def test_saying_hi_to_the_bot_gets_a_hello_and_the_help_list(tandem: SlackTandem) -> None:
    body = fixture("event_app_mention.json")  # "<@W111> Hi there!": W111 is the bot in Slack's example
    body["event"]["text"] = body["event"]["text"].replace("<@W111>", f"<@{BOT_USER}>")
    assert (await tandem.event(body)).status == 200
    await tandem.settle()
    (ephemeral,) = tandem.fake.called("chat.postEphemeral")
    assert ephemeral.args["text"] == "Hi! Here is what Tandem can do"
    assert "/tandem norms" in _texts(ephemeral.args)


async def test_direct_message_is_read_as_a_command_and_answered_in_the_dm_thread(tandem: SlackTandem) -> None:
    body = fixture("event_message_im.json")
    body["event"]["text"] = "help"
    assert (await tandem.event(body)).status == 200
    await tandem.settle()
    (post,) = tandem.fake.called("chat.postMessage")
    assert post.args["channel"] == "D111"
    assert post.args["thread_ts"] == body["event"]["thread_ts"]
    assert "What Tandem can do" in _texts(post.args)


async def test_the_bots_own_messages_are_ignored(tandem: SlackTandem) -> None:
    body = fixture("event_message_im.json")
    body["event"]["bot_id"] = "BBOT"
    body["event_id"] = "Ev-own"
    assert (await tandem.event(body)).status == 200
    await tandem.settle()
    assert await _processed(tandem) == []
    assert await _outbox_rows(tandem) == 0


async def test_member_joined_channel_and_the_bot_joining(tandem: SlackTandem) -> None:
    """W333 joining the team's channel gets a note only they see; the bot joining says who runs it."""
    await tandem.import_team(slack_team_spec())
    await tandem.command("help")  # authorize learns the bot's user id (auth.test)
    for event_id, user in (("EvJ1", "W333"), ("EvJ2", BOT_USER)):
        body = {
            "type": "event_callback",
            "team_id": "T111",
            "event_id": event_id,
            "event_time": 1,
            "event": {"type": "member_joined_channel", "user": user, "channel": "C111", "team": "T111"},
        }
        assert (await tandem.event(body)).status == 200
    await tandem.settle()
    assert {"slack:event:EvJ1", "slack:event:EvJ2"} <= set(await _processed(tandem))
    (private,) = tandem.fake.called("chat.postEphemeral")
    assert private.args["channel"] == "C111" and private.args["user"] == "W333"
    assert "Welcome to Slack Solutions Team's channel" in private.args["text"]
    (hello,) = [c for c in tandem.fake.called("chat.postMessage") if c.args["channel"] == "C111"]
    assert "its co-chairs are Ana Labor (labor) and Ben Manager (management)" in json.dumps(hello.args)


async def test_app_home_opened_publishes_the_persons_home(tandem: SlackTandem) -> None:
    await tandem.import_team(slack_team_spec())
    body = {
        "type": "event_callback",
        "team_id": "T111",
        "event_id": "EvH",
        "event_time": 1,
        "event": {"type": "app_home_opened", "user": "W222", "channel": "D222", "tab": "home"},
    }
    assert (await tandem.event(body)).status == 200
    await tandem.settle()
    (published,) = tandem.fake.called("views.publish")
    assert published.args["user_id"] == "W222"
    assert published.args["view"]["type"] == "home"
    assert "Slack Solutions Team" in json.dumps(published.args["view"])


async def test_unknown_events_are_acknowledged_not_retried(tandem: SlackTandem) -> None:
    body = {
        "type": "event_callback",
        "team_id": "T111",
        "event_id": "EvX",
        "event_time": 1,
        "event": {"type": "reaction_added", "user": "W1"},
    }
    assert (await tandem.event(body)).status == 200


async def test_one_persons_requests_run_in_order_others_alongside() -> None:
    """With more than one request processed at once (the worker process), a person's second click never
    overtakes their first; someone else's runs meanwhile."""
    from adapters.slack.inbound import _PerKeyOrder

    order = _PerKeyOrder()
    first_may_finish = asyncio.Event()
    log: list[str] = []

    async def work(key: str, name: str, wait: asyncio.Event | None = None) -> None:
        async with order(key):
            log.append(f"start {name}")
            if wait is not None:
                await wait.wait()
            log.append(f"end {name}")

    tasks = [
        asyncio.create_task(work("T1:W111", "ana-1", first_may_finish)),
        asyncio.create_task(work("T1:W111", "ana-2")),
        asyncio.create_task(work("T1:W222", "ben-1")),
    ]
    await asyncio.sleep(0.05)
    assert log == ["start ana-1", "start ben-1", "end ben-1"]  # ana-2 waits for ana-1
    first_may_finish.set()
    await asyncio.gather(*tasks)
    assert log[3:] == ["end ana-1", "start ana-2", "end ana-2"]
    assert order._locks == {}  # nothing kept for people with nothing running


async def test_slacks_own_form_encoded_slash_command_body_is_answered(tandem: SlackTandem) -> None:
    """The body exactly as Slack sends it (slash_command.form.txt), byte for byte but for the command name
    and the response_url, which must reach the fake: parsed, routed and answered like any command."""
    raw = (FIXTURES / "slash_command.form.txt").read_text().strip()
    assert "command=%2Fhello-world" in raw and "text=Hi" in raw
    slack_url = "https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT111%2F111%2Fxxxxx"
    body = (
        raw.replace("command=%2Fhello-world", "command=%2Ftandem")
        .replace("text=Hi", "text=help")
        .replace(slack_url, quote(tandem.fake.response_url("form"), safe=""))
    )
    assert body.count("%2Ftandem") == 1 and "hooks.slack.com" not in body
    response = await tandem.post(body.encode(), "application/x-www-form-urlencoded")
    assert response.status == 200
    await tandem.settle()
    [(name, answer)] = tandem.fake.responses
    assert name == "form" and answer["response_type"] == "ephemeral"
    assert "/tandem help" in json.dumps(answer["blocks"])
