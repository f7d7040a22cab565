"""Every Bot Connector call Tandem makes goes through its own client (connector.py: one attempt, classified
for the outbox), roster reads and the form shown for a click included: botbuilder's msrest client, which
retries inside the call with urllib3, makes none. And a Form is shown to the person who clicked, never
written to the outbox (adapters/base.py: it can hold their own poll answers)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest
from sqlalchemy import func, select

from adapters.teams.cards import ACTION_KEY, CONTENT_TYPE, METADATA_KEY
from adapters.teams.connector import USER_AGENT
from flows.core.actions import ActionHandler
from flows.core.engine import ArrivalHandler, Command, Engine, FlowContext, ScheduleHandler
from flows.core.types import ActionEvent, Choice, Form, Question, TextInput
from storage.models import OutboxMessage
from tests.teams.conftest import RIDO_29, RIDO_AAD, TeamsRig


class FormFlow:
    """A real flow: a click on `survey.open` opens a form whose answers are already filled in (as the pulse
    form is for someone changing their answers); its submission is recorded."""

    name = "survey"

    def __init__(self) -> None:
        self.submitted: list[dict[str, str]] = []

    def commands(self) -> Sequence[Command]:
        return ()

    def schedule_handlers(self) -> dict[str, ScheduleHandler]:
        return {}

    def arrivals(self) -> Sequence[ArrivalHandler]:
        return ()

    def actions(self) -> dict[str, ActionHandler]:
        return {"survey.open": self._open, "survey.submit": self._submit}

    async def _open(self, ctx: FlowContext, event: ActionEvent) -> None:
        ctx.open_form(
            Form(
                "survey.submit",
                "Survey",
                (
                    Question("q", "How?", (Choice("1", "One"), Choice("2", "Two")), "radio", initial="2"),
                    TextInput("t", "Why", initial="my earlier answer"),
                ),
                metadata="m-7",
            )
        )

    async def _submit(self, ctx: FlowContext, event: ActionEvent) -> None:
        self.submitted.append({**event.values, "metadata": event.metadata})


def _with_flow(rig: TeamsRig) -> FormFlow:
    flow = FormFlow()
    rig.adapter.handle = Engine(rig.runtime.sessions, rig.clock, [flow]).handle
    return flow


async def _outbox_rows(rig: TeamsRig) -> int:
    async with rig.runtime.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(OutboxMessage))).scalar_one())


async def test_a_legacy_submit_gets_its_form_at_once_through_our_client_not_the_outbox(rig: TeamsRig) -> None:
    flow = _with_flow(rig)
    click = rig.activity("message_back_submit", value={ACTION_KEY: "survey.open"})
    assert (await rig.post(click))[0] == 200
    [reply] = rig.connector.sends()
    assert reply.conversation == click["conversation"]["id"]  # where the person clicked
    assert reply.user_agent == USER_AGENT
    card = rig.connector.card(reply)
    inputs = {b["id"]: b.get("value") for b in card["body"] if b["type"].startswith("Input.")}
    assert inputs == {"q": "2", "t": "my earlier answer"}
    [submit] = card["actions"]
    assert submit["verb"] == "survey.submit" and submit["data"][METADATA_KEY] == "m-7"
    assert reply.body["recipient"]["id"] == click["from"]["id"]
    assert await _outbox_rows(rig) == 0  # the answers in it never reach the database
    # the person fills it in and submits: the flow gets the values and the metadata
    submitted = rig.activity(
        "message_back_submit",
        id="f:submitted",
        value={**submit["data"], "q": "1", "t": "because"},
    )
    assert (await rig.post(submitted))[0] == 200
    assert flow.submitted == [{"q": "1", "t": "because", "metadata": "m-7"}]


async def test_a_form_reply_that_fails_is_logged_without_the_form(
    rig: TeamsRig, caplog: pytest.LogCaptureFixture
) -> None:
    _with_flow(rig)
    rig.connector.fail_next(502)
    with caplog.at_level(logging.WARNING, logger="tandem.teams"):
        status, _ = await rig.post(rig.activity("message_back_submit", value={ACTION_KEY: "survey.open"}))
    assert status == 200  # the click was recorded; the person clicks again to see the form
    assert len(rig.connector.sends()) == 1  # one attempt
    assert "could not show a form" in caplog.text and "502" in caplog.text
    assert "my earlier answer" not in caplog.text
    assert await _outbox_rows(rig) == 0


async def test_an_action_execute_gets_its_form_as_the_invoke_answer(rig: TeamsRig) -> None:
    _with_flow(rig)
    invoke = rig.activity("invoke_adaptive_card_action_execute")
    invoke["value"]["action"].update(verb="survey.open", data={ACTION_KEY: "survey.open"})
    status, body = await rig.post(invoke)
    assert status == 200 and body["statusCode"] == 200 and body["type"] == CONTENT_TYPE
    assert [a["verb"] for a in body["value"]["actions"]] == ["survey.submit"]
    assert rig.connector.sends() == [] and await _outbox_rows(rig) == 0


async def test_roster_and_member_reads_and_sends_are_all_our_clients_calls(rig: TeamsRig) -> None:
    rig.connector.roster = [
        {"id": RIDO_29, "name": "rido", "aadObjectId": RIDO_AAD},
        {"id": "29:ed", "name": "Ed", "aadObjectId": "aad-ed", "email": "ed@district.org"},
    ]
    install = rig.activity("conversation_update_bot_added_to_team")
    assert (await rig.post(install))[0] == 200
    added = rig.activity(
        "conversation_update_bot_added_to_team", id="f:later", membersAdded=[{"id": "29:ed"}]
    )
    assert (await rig.post(added))[0] == 200
    mention = rig.activity("message_channel_reply_with_mention", text="<at>ridotest</at> help")
    assert (await rig.post(mention))[0] == 200
    await rig.deliver()
    calls = rig.connector.calls
    kinds = {(c.method, "members" if "/members/" in c.path else c.path.rsplit("/", 1)[-1]) for c in calls}
    assert {("GET", "pagedmembers"), ("GET", "members"), ("POST", "activities")} <= kinds
    assert {c.user_agent for c in rig.connector.calls} == {USER_AGENT}
