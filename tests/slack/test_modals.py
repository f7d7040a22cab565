"""Modals and the 3-second trigger id: a button that opens a form opens a "loading" modal at once, and the
form replaces it (views.update) once the database work is done, however long that waited in the queue."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func, select

from flows.core.actions import ActionHandler
from flows.core.engine import ArrivalHandler, Command, Engine, FlowContext, ScheduleHandler
from flows.core.types import ActionEvent, Button, Buttons, Card
from storage.pulse_models import PulseSealed
from tests.slack.conftest import (
    Scripted,
    SlackTandem,
    buttons,
    invitation_button,
    start_poll,
    trust_answers,
)

START = datetime(2026, 10, 5, 16, 0, tzinfo=UTC)
MEMBERS = ("W222", "W333", "W444", "W555", "W666")


async def _ballots(tandem: SlackTandem) -> int:
    """Submissions kept (sealed until the poll closes)."""
    async with tandem.runtime.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(PulseSealed))).scalar_one())


async def test_a_burst_of_answer_clicks_opens_every_modal_before_its_trigger_expires(
    tandem: SlackTandem,
) -> None:
    """Five members press "Answer now" at once. Their requests are processed one after another after
    the ack, each looking the person up first (users.info, slow here: 0.4 s), so the last ones reach
    their form well after the trigger id expired. The modal is opened at the ack instead."""
    tandem.clock.set(START)
    await start_poll(tandem)
    tandem.fake.trigger_ttl = 1.0  # Slack's is 3 s; shorter keeps the test short, same race
    tandem.fake.then("users.info", *[Scripted(delay=0.4) for _ in MEMBERS])

    clicks = [tandem.click(u, invitation_button(tandem, u), channel=f"D{u}") for u in MEMBERS]
    assert all(r.status == 200 for r in await asyncio.gather(*clicks))
    await tandem.settle()

    assert tandem.fake.called("views.open!failed") == []  # no expired_trigger_id
    assert len(tandem.fake.called("views.open")) == len(MEMBERS)
    updates = tandem.fake.called("views.update")
    assert len(updates) == len(MEMBERS)
    for user in MEMBERS:
        view_id, view = tandem.modal_of(user)
        assert view["callback_id"] == "pulse.submit"  # the form replaced the loading view
        assert sum(u.args["view_id"] == view_id for u in updates) == 1
    # every one opened within its trigger's life (the fake refuses an expired trigger id, as Slack does)
    loading = json.dumps(tandem.fake.called("views.open")[0].args["view"])
    assert "Opening the form" in loading

    # and the form that replaced it works
    view_id, view = tandem.modal_of("W444")
    assert (await tandem.submit("W444", view, trust_answers(), view_id=view_id)).status == 200
    await tandem.settle()
    assert await _ballots(tandem) == 1


async def test_pressing_again_after_closing_the_modal_opens_the_form_again_and_after_answering_shows_mine(
    tandem: SlackTandem,
) -> None:
    tandem.clock.set(START)
    await start_poll(tandem)
    button = invitation_button(tandem, "W333")
    await tandem.click("W333", button, channel="DW333")
    await tandem.settle()
    first_id, first = tandem.modal_of("W333")
    assert first["callback_id"] == "pulse.submit"

    # W333 closes the modal without submitting and presses the button again: a new modal with the form
    await tandem.click("W333", button, channel="DW333")
    await tandem.settle()
    second_id, second = tandem.modal_of("W333")
    assert second_id != first_id and second["callback_id"] == first["callback_id"]

    assert (await tandem.submit("W333", second, trust_answers(), view_id=second_id)).status == 200
    await tandem.settle()
    assert await _ballots(tandem) == 1

    # pressing it once more: the form with W333's own answers in it, to change them; a submit replaces
    await tandem.click("W333", button, channel="DW333")
    await tandem.settle()
    third_id, third = tandem.modal_of("W333")
    assert third["callback_id"] == first["callback_id"] and "These are your answers so far" in json.dumps(
        third
    )
    chosen = [
        b["element"].get("initial_option", {}).get("value") for b in third["blocks"] if b["type"] == "input"
    ]
    assert chosen.count("4") == 12  # trust_answers() chose 4 everywhere
    assert (await tandem.submit("W333", third, trust_answers("2"), view_id=third_id)).status == 200
    await tandem.settle()
    said = tandem.fake.called("chat.update")[-1].args  # the receipt, changed in place
    assert said["channel"] == "DW333" and "changed" in said["text"]
    assert await _ballots(tandem) == 1


class Exploding:
    """A flow whose form button fails every time it is pressed."""

    name = "boom"

    def commands(self) -> Sequence[Command]:
        return ()

    def actions(self) -> dict[str, ActionHandler]:
        return {"boom.open": self._open}

    def schedule_handlers(self) -> dict[str, ScheduleHandler]:
        return {}

    def arrivals(self) -> Sequence[ArrivalHandler]:
        return ()

    async def _open(self, ctx: FlowContext, event: ActionEvent) -> None:
        raise RuntimeError("the database went away")


async def test_when_the_flow_fails_the_loading_modal_says_so(tandem: SlackTandem) -> None:
    tandem.inbound.handle = Engine(tandem.runtime.sessions, tandem.clock, [Exploding()]).handle
    tandem.inbound.attempts = 1
    card = Card("Try", (Buttons((Button("Open", "boom.open", "1", opens_form=True),)),))
    await tandem.inbound.adapter.send({"address": "C111"}, card)
    (button,) = buttons(tandem.fake.called("chat.postMessage")[-1].args, "boom.open")
    assert (await tandem.click("W333", button, channel="C111")).status == 200
    await tandem.settle()
    _, view = tandem.modal_of("W333")
    assert "Something went wrong" in json.dumps(view) and "submit" not in view
