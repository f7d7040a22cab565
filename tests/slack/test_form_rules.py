"""A modal submit is checked against its form's rules before the ack: a missing answer, a value off the
scale or a comment too long is shown beside its field (`response_action: errors`), nothing is recorded,
and the same modal, corrected, is recorded."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from flows.pulse.cards import COMMENT, COMMENT_MAX
from storage.models import ProcessedEvent
from storage.pulse_models import PulseSealed
from tests.slack.conftest import SlackTandem, fixture, invitation_button, start_poll, trust_answers

START = datetime(2026, 10, 5, 16, 0, tzinfo=UTC)


async def _sealed(tandem: SlackTandem) -> int:
    async with tandem.runtime.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(PulseSealed))).scalar_one())


async def _view_keys(tandem: SlackTandem) -> list[str]:
    async with tandem.runtime.sessions() as session:
        keys = (await session.execute(select(ProcessedEvent.key))).scalars()
        return sorted(k for k in keys if k.startswith("slack:view:"))


def _receipts(tandem: SlackTandem, user: str) -> list[str]:
    """What Tandem said in `user`'s DM after the invitation (receipts, refusals)."""
    return [
        c.args["text"]
        for c in tandem.fake.called("chat.postMessage") + tandem.fake.called("chat.update")
        if c.args.get("channel") == f"D{user}" and "Answer now" not in json.dumps(c.args)
    ]


async def _open_form(tandem: SlackTandem, user: str) -> tuple[str, dict[str, Any]]:
    tandem.clock.set(START)
    await start_poll(tandem)
    assert (await tandem.click(user, invitation_button(tandem, user), channel=f"D{user}")).status == 200
    await tandem.settle()
    view_id, view = tandem.modal_of(user)
    assert view["callback_id"] == "pulse.submit" and view["private_metadata"]
    return view_id, view


async def test_a_refused_modal_shows_the_errors_beside_the_fields_and_the_corrected_one_is_recorded(
    tandem: SlackTandem,
) -> None:
    view_id, view = await _open_form(tandem, "W333")
    inputs = [b for b in view["blocks"] if b["type"] == "input"]
    (comment,) = [b for b in inputs if b["block_id"] == COMMENT]
    assert comment["optional"] and comment["element"]["max_length"] == COMMENT_MAX  # Slack enforces it too
    first, second = inputs[0]["block_id"], inputs[1]["block_id"]

    bad = trust_answers()
    del bad[first]  # not answered
    bad[second] = "7"  # on a 1–5 scale
    bad[COMMENT] = "x" * (COMMENT_MAX + 1)
    refused = await tandem.submit("W333", view, bad, view_id=view_id)
    assert refused.status == 200
    assert await refused.json() == {
        "response_action": "errors",
        "errors": {
            first: "Please choose one.",
            second: "“7” isn't on the scale: choose 1 to 5.",
            COMMENT: "Please keep this to 2,000 characters (it has 2,001).",
        },
    }
    await tandem.settle()
    assert await _sealed(tandem) == 0 and await _view_keys(tandem) == []
    assert _receipts(tandem, "W333") == []  # the modal said it all; no message

    # the same modal (same view id), corrected and submitted again: recorded
    good = {**trust_answers(), COMMENT: "We listen well."}
    accepted = await tandem.submit("W333", view, good, view_id=view_id, trigger_id="333.444.second")
    assert accepted.status == 200 and await accepted.text() == ""  # a plain ack closes the modal
    await tandem.settle()
    assert await _sealed(tandem) == 1
    assert await _view_keys(tandem) == [f"slack:view:{view_id}:W333"]
    (receipt,) = _receipts(tandem, "W333")
    assert "your answers are in" in receipt

    # the same submit again (a redelivery): processed once, the receipt is not said twice
    again = await tandem.submit("W333", view, good, view_id=view_id, trigger_id="333.444.redelivered")
    assert again.status == 200
    await tandem.settle()
    assert await _sealed(tandem) == 1 and len(_receipts(tandem, "W333")) == 1


async def test_slacks_own_view_submission_with_a_required_input_left_empty_gets_an_error_beside_it(
    tandem: SlackTandem,
) -> None:
    """Slack's payload as Slack documents it: the modal's blocks (a required plain_text_input) come back
    with the state, where an input left empty is null. The rules are read from those blocks."""
    payload = fixture("view_submission.json")
    payload["view"]["state"]["values"]["hspI"]["maBWU"]["value"] = None
    response = await tandem.interactive(payload)
    assert response.status == 200
    assert await response.json() == {"response_action": "errors", "errors": {"hspI": "Please fill this in."}}
    await tandem.settle()
    assert await _view_keys(tandem) == []
    assert {c.method for c in tandem.fake.calls} <= {"auth.test"}  # nothing said, nothing opened

    payload["view"]["state"]["values"]["hspI"]["maBWU"]["value"] = "filled in"
    assert (await tandem.interactive(payload)).status == 200
    await tandem.settle()
    assert await _view_keys(tandem) == ["slack:view:V111:W111"]


async def test_the_errors_are_in_the_persons_language(tandem: SlackTandem) -> None:
    from sqlalchemy import update

    from storage.models import Identity, Person

    tandem.clock.set(START)
    await start_poll(tandem)
    async with tandem.runtime.sessions() as session, session.begin():
        person = select(Identity.person_id).where(Identity.user_id == "W333").scalar_subquery()
        await session.execute(update(Person).where(Person.id == person).values(language="es"))
    assert (await tandem.click("W333", invitation_button(tandem, "W333"), channel="DW333")).status == 200
    await tandem.settle()
    view_id, view = tandem.modal_of("W333")
    assert json.loads(view["private_metadata"])["l"] == "es"
    first = next(b["block_id"] for b in view["blocks"] if b["type"] == "input")
    bad = trust_answers()
    del bad[first]
    refused = await tandem.submit("W333", view, bad, view_id=view_id)
    assert (await refused.json())["errors"] == {first: "Elija una opción, por favor."}
    # a language the form could not have come with is read as English, not trusted
    forged = {**view, "private_metadata": json.dumps({**json.loads(view["private_metadata"]), "l": "xx"})}
    refused = await tandem.submit("W333", forged, bad, view_id=view_id)
    assert (await refused.json())["errors"] == {first: "Please choose one."}
