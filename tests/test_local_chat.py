"""The local chat page over HTTP (adapters/local/chat.py), on SQLite and PostgreSQL: what a person sees, what
they can do, and what the page refuses (nothing recorded)."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from bot.local_chat import chat_mode
from bot.settings import Settings
from storage.local_chat import LocalChatMessage
from storage.models import ProcessedEvent
from tests.local_chat_helpers import Page, chat_page


async def _count(page: Page) -> int:
    async with page.runtime.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(LocalChatMessage))).scalar_one())


async def test_choose_a_person_and_talk(database_url: str) -> None:
    async with chat_page(database_url) as page:
        chooser = await (await page.client.get("/")).text()
        assert "Ana Labor (labor co-chair)" in chooser and "Cy Teacher (labor)" in chooser
        html = await (await page.client.get("/", params={"team": page.team, "person": "ana"})).text()
        assert "Test Solutions Team" in html and "Tandem (direct messages)" in html and "#team" in html
        assert (await page.say("ana", "help")).status == 200
        mine = await page.messages("ana")
        assert "What Tandem can do" in mine
        # another member's view never shows Ana's direct conversation, and cannot ask for it
        assert "What Tandem can do" not in await page.messages("cy")
        response = await page.client.get(
            "/chat/messages", params={"team": page.team, "person": "cy", "c": "dm-ana"}
        )
        assert response.status == 403


async def test_stream_pushes_what_the_person_sees(database_url: str) -> None:
    async with chat_page(database_url) as page:
        stream = await page.client.get("/chat/events", params={"team": page.team, "person": "cy"})
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        assert b"event: hello" in await stream.content.readuntil(b"\n\n")
        await page.say("ana", "help")  # Ana's DM: not Cy's
        await page.say("ana", "pulse start")  # the channel announcement and Cy's invitation: Cy's
        seen = b""
        while b"pulse.answer" not in seen:
            seen += await stream.content.readuntil(b"\n\n")
        assert b"What Tandem can do" not in seen
        stream.close()


async def test_a_poll_through_the_page(database_url: str) -> None:
    async with chat_page(database_url) as page:
        await page.say("ana", "pulse start")
        invitation = await page.messages("cy")
        message = re.search(
            r'id="m-(\d+)"[^>]*>(?:(?!</article>).)*data-action="pulse.answer"', invitation, re.S
        )
        assert message is not None
        value = re.search(r'data-action="pulse.answer" data-value="(\d+)"', invitation)
        assert value is not None
        press = await page.post(
            "/chat/press",
            person="cy",
            c="dm-cy",
            message=message.group(1),
            action="pulse.answer",
            value=value.group(1),
            key="k1",
        )
        form = (await press.json())["form"]
        token = re.search(r'name="token" value="([^"]+)"', form)
        assert token is not None and 'type="radio"' in form and "<fieldset" in form
        fields = re.findall(r'name="f:([^"]+)" value="3"', form)
        assert fields
        # a missing value: the error beside the field, nothing recorded
        partial = {f"f:{f}": "3" for f in fields[1:]}
        before = await _count(page)
        refused = await page.post("/chat/submit", person="cy", token=token.group(1), **partial)
        assert refused.status == 422
        again = (await refused.json())["form"]
        assert f'id="err-{fields[0]}"' in again and "Please choose one." in again
        assert await _count(page) == before
        # someone else's form: refused, nothing recorded
        other = await page.post("/chat/submit", person="di", token=token.group(1), **partial)
        assert other.status == 403 and "someone else" in (await other.json())["error"]
        ok = await page.post(
            "/chat/submit", person="cy", token=token.group(1), **{f"f:{f}": "3" for f in fields}
        )
        assert ok.status == 200, await ok.text()
        # the same form twice: it is closed
        twice = await page.post(
            "/chat/submit", person="cy", token=token.group(1), **{f"f:{f}": "3" for f in fields}
        )
        assert twice.status == 409


async def test_bad_input_is_refused_and_nothing_recorded(database_url: str) -> None:
    async with chat_page(database_url) as page:
        await page.say("ana", "help")
        help_id = re.findall(r'id="m-(\d+)"', await page.messages("ana"))[-1]
        before = await _count(page)
        async with page.runtime.sessions() as session:
            events = (await session.execute(select(func.count()).select_from(ProcessedEvent))).scalar_one()
        unknown = await page.post(
            "/chat/press", person="ana", c="dm-ana", message=help_id, action="pulse.close", value="", key="k2"
        )
        assert unknown.status == 400 and "no such button" in (await unknown.json())["error"]
        # a message of someone else's conversation
        foreign = await page.post(
            "/chat/press", person="cy", c="dm-cy", message=help_id, action="x", value="", key="k3"
        )
        assert foreign.status == 400
        big = await page.post("/chat/say", person="ana", c="dm-ana", text="x" * 1_000_000)
        assert big.status == 413 and "too long" in (await big.json())["error"]
        assert (await page.post("/chat/say", person="ana", c="dm-ana", text="   ")).status == 400
        assert (await page.post("/chat/say", person="zed", c="dm-zed", text="help")).status == 403
        assert await _count(page) == before
        async with page.runtime.sessions() as session:
            assert (
                await session.execute(select(func.count()).select_from(ProcessedEvent))
            ).scalar_one() == events
        # HTML in a message: shown escaped, never as markup
        await page.say("ana", "<script>alert(1)</script><b>hi</b>")
        shown = await page.messages("ana")
        assert "<script>alert" not in shown and "&lt;script&gt;alert(1)&lt;/script&gt;" in shown


async def test_the_clock_jumps_to_the_next_meeting_reminder(database_url: str) -> None:
    async with chat_page(database_url) as page:
        response = await page.post("/chat/clock/next", person="ana")
        body = await response.json()
        assert response.status == 200 and "the meeting reminder" in body["said"], body
        channel = await page.messages("cy", "team-channel")
        assert "<article" in channel  # the reminder, delivered to the team's channel by the outbox


def test_the_page_is_for_loopback_unless_asked() -> None:
    assert chat_mode(Settings(TANDEM_HOST="127.0.0.1"))[:2] == (True, True)
    assert chat_mode(Settings(TANDEM_HOST="0.0.0.0"))[0] is False
    assert chat_mode(Settings(TANDEM_HOST="0.0.0.0", TANDEM_LOCAL_CHAT="on"))[:2] == (True, False)
    assert chat_mode(Settings(SLACK_SIGNING_SECRET="s", SLACK_BOT_TOKEN="xoxb-1"))[0] is False
    assert chat_mode(Settings(SLACK_SIGNING_SECRET="s", SLACK_BOT_TOKEN="xoxb-1", TANDEM_LOCAL_CHAT="on"))[0]


async def test_a_request_from_another_machine_is_refused() -> None:
    from unittest import mock

    from aiohttp.test_utils import make_mocked_request

    from adapters.local.chat import ChatAdapter

    adapter = ChatAdapter(mock.Mock(), mock.Mock(), mock.Mock(), loopback_only=True)
    transport = mock.Mock()
    transport.get_extra_info.return_value = ("192.0.2.7", 50000)
    request = make_mocked_request("GET", "/", transport=transport)
    response = await adapter._guarded(adapter.page)(request)
    assert response.status == 403


async def test_a_button_pressed_twice_counts_once(database_url: str) -> None:
    async with chat_page(database_url) as page:
        await page.say("ana", "pulse start")
        invitation = await page.messages("cy")
        ids = re.findall(r'id="m-(\d+)"', invitation)
        value = re.search(r'data-action="pulse.answer" data-value="(\d+)"', invitation)
        assert value is not None
        press = {"person": "cy", "c": "dm-cy", "message": ids[-1], "action": "pulse.answer"}
        first = await page.post("/chat/press", **press, value=value.group(1), key="same-click")
        second = await page.post("/chat/press", **press, value=value.group(1), key="same-click")
        assert "form" in await first.json()
        assert "form" not in await second.json()  # the repeat of one press is ignored by the engine
        async with page.runtime.sessions() as session:
            keys = (await session.execute(select(ProcessedEvent))).scalars().all()
        assert sum(1 for k in keys if "same-click" in str(k.__dict__)) == 1


async def test_message_times_are_in_the_teams_zone(database_url: str) -> None:
    async with chat_page(database_url, timezone="Asia/Tokyo") as page:
        assert (await page.say("ana", "help")).status == 200
        mine = await page.messages("ana")
        assert "JST" in mine and "UTC" not in mine  # as the header's clock, not the server's zone


def test_mentions_on_the_page_become_neutral_mentions() -> None:
    from adapters.local.chat import read_mentions
    from storage.local_chat import LocalPerson

    people = [
        LocalPerson("ana", "Ana Labor", "labor", True),
        LocalPerson("cyt", "Cy Teacher", "labor", False),
        LocalPerson("cy2", "Cy Other", "management", False),
    ]
    text, mentioned = read_mentions("action Draft @ANA @cy2 and @Ana, mail a@b.org @nobody @Cy", people)
    assert text == "action Draft @0 @1 and @0, mail a@b.org @nobody @Cy"
    assert [(a.platform, a.user_id) for a in mentioned] == [("local", "ana"), ("local", "cy2")]


async def test_the_clock_stops_where_prepared_messages_go_out(database_url: str) -> None:
    """A check-in is prepared a day ahead and its invitations wait for each person's 9:00: the jump stops
    there (it used to pass them by and deliver them at the reminder, days late)."""
    from datetime import UTC, datetime, timedelta

    from flows.core.recurrence import zone

    start = (datetime.now(UTC).astimezone(zone("America/Los_Angeles")) + timedelta(days=2)).date()
    day = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")[start.weekday()]
    checkins = {"every": f"FREQ=WEEKLY;BYDAY={day}", "start": start.isoformat(), "at": "09:00"}
    async with chat_page(database_url, meeting=None, checkins=checkins) as page:
        said = [(await (await page.post("/chat/clock/next", person="ana")).json())["said"] for _ in range(2)]
        assert "a check-in is prepared" in said[0], said
        assert "messages prepared earlier go out" in said[1] and "9:00 AM" in said[1], said
        assert "Check in" in await page.messages("cy")  # the invitation, at its moment
        said.append((await (await page.post("/chat/clock/next", person="ana")).json())["said"])
        assert "the check-in reminder" in said[2], said
