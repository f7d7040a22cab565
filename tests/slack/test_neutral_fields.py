"""The neutral fields Slack fills in: mentions, reply_url and workspace on the conversation, form metadata."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from adapters.slack import events
from flows.core.actions import ActionHandler
from flows.core.engine import ArrivalHandler, Command, Engine, FlowContext, ScheduleHandler
from flows.core.types import ActionEvent, Actor, Card, CommandEvent
from storage.models import OutboxMessage
from tests.slack.conftest import BOT_USER, SlackTandem, fixture


def test_mentions_become_numbered_placeholders_and_the_bot_is_dropped() -> None:
    text, people = events.read_mentions(
        "<@UBOT> setup Riverside DLT; labor <@U1|maria> &amp; <@U2>; again <@U1> in <#C9|general> "
        "<https://example.org|site>",
        "UBOT",
    )
    assert text == "setup Riverside DLT; labor @0 & @1; again @0 in #general https://example.org"
    assert people == (Actor("slack", "U1", "maria"), Actor("slack", "U2"))


def test_command_and_action_conversations_carry_workspace_and_reply_url() -> None:
    form = fixture("slash_command.json")
    form["text"] = "roles <@W222|ben>"
    translated = events.command_event(form)
    event = translated.event
    assert isinstance(event, CommandEvent)
    assert event.text == "roles @0" and event.mentions == (Actor("slack", "W222", "ben"),)
    assert event.conversation.workspace == "T111"
    assert event.conversation.reply_url == form["response_url"]
    assert event.conversation.name == "#random"  # Slack's channel_name
    for placeholder in ("privategroup", "directmessage", "mpdm-ana--ben-1"):  # private, DM, group DM
        form["channel_name"] = placeholder
        assert events.command_event(form).event.conversation.name is None
    action = events.interactive_event(fixture("block_actions_button.json")).event
    assert isinstance(action, ActionEvent)
    assert action.conversation.reply_url == fixture("block_actions_button.json")["response_url"]


class Echo:
    name = "echo"

    def __init__(self) -> None:
        self.seen: list[CommandEvent] = []

    def commands(self) -> Sequence[Command]:
        return (Command("echo", "echo", "Echo.", self._echo),)

    def actions(self) -> dict[str, ActionHandler]:
        return {}

    def schedule_handlers(self) -> dict[str, ScheduleHandler]:
        return {}

    def arrivals(self) -> Sequence[ArrivalHandler]:
        return ()

    async def _echo(self, ctx: FlowContext, event: CommandEvent, rest: str) -> None:
        self.seen.append(event)
        await ctx.reply(Card.plain(f"you said {rest}"))


async def test_a_slash_command_with_mentions_reaches_the_flow_and_replies_by_reply_url(
    tandem: SlackTandem,
) -> None:
    flow = Echo()
    tandem.inbound.handle = Engine(tandem.runtime.sessions, tandem.clock, [flow]).handle
    assert (await tandem.command(f"echo <@{BOT_USER}> hi <@W333|cy> and <@W444>")).status == 200
    await tandem.settle()
    (event,) = flow.seen
    assert event.text == "echo hi @0 and @1"
    assert [m.user_id for m in event.mentions] == ["W333", "W444"]
    async with tandem.runtime.sessions() as session:
        (row,) = (await session.execute(select(OutboxMessage))).scalars()
    # the reply target carries the workspace and the response_url: no per-process memory needed
    assert row.target["workspace"] == "T111"
    assert row.target["reply_url"] == tandem.fake.response_url("W111-C111")
    assert tandem.fake.responses[-1][1]["text"] == "you said hi @0 and @1"
