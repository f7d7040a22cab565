"""A form submitted in Teams is checked against its rules (carried in the submit action's data) before the
engine sees it: Teams cannot mark a field after a submit, so a reply names each input and what is wrong,
with the same words Slack shows beside the field; nothing is recorded, and the corrected submit of the
same card is. Real activities over HTTP, the real flow, the fake Bot Connector."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
from sqlalchemy import func, select

from adapters.teams.cards import RULES_KEY
from flows.content.instruments import instruments
from flows.pulse.cards import COMMENT, COMMENT_MAX
from storage.pulse_models import PulseSealed
from tests.teams.conftest import INSTALLED_CHANNEL, TeamsRig
from tests.teams.conftest import fixture as teams_fixture

SCHEMA = json.loads((Path(__file__).parent / "data" / "adaptive-card-1.5.schema.json").read_text())
START = datetime(2026, 10, 5, 16, 0, tzinfo=UTC)
GUS = teams_fixture("invoke_adaptive_card_action_execute")["from"]["aadObjectId"]  # the fixture's sender
ITEMS = [item.id for item in instruments()["relational-trust"].items]


def _spec() -> dict[str, Any]:
    members = [
        {"name": f"Labor {i}", "side": "labor", "co_chair": i == 0, "local": f"l{i}"} for i in range(4)
    ] + [
        {"name": f"Manager {i}", "side": "management", "co_chair": i == 0, "local": f"m{i}"} for i in range(4)
    ]
    members.append({"name": "Gus Coach", "side": "labor", "teams": GUS})
    return {
        "name": "Riverside Solutions Team",
        "timezone": "America/Los_Angeles",
        "channels": [{"platform": "teams", "id": INSTALLED_CHANNEL, "name": "Solutions Team"}],
        "members": members,
    }


async def _sealed(rig: TeamsRig) -> int:
    async with rig.runtime.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(PulseSealed))).scalar_one())


async def _execute(rig: TeamsRig, verb: str, data: dict[str, Any], activity_id: str) -> Any:
    """Gus presses an `Action.Execute` in his personal chat with the bot (Microsoft's invoke fixture)."""
    activity = rig.activity("invoke_adaptive_card_action_execute", id=activity_id)
    activity["value"]["action"] = {"type": "Action.Execute", "verb": verb, "data": data}
    status, body = await rig.post(activity)
    assert status == 200
    return body


def _replies(rig: TeamsRig) -> list[str]:
    """The cards posted in reply inside a turn (not through the outbox), as text."""
    return [
        rig.connector.text(c)
        for c in rig.connector.calls
        if c.method == "POST" and c.activity_id is not None and c.body.get("attachments")
    ]


async def _form(rig: TeamsRig) -> dict[str, Any]:
    """A poll is open; Gus presses Answer now: the invoke's answer is the form, as an input card."""
    rig.clock.set(START)
    await rig.import_team(_spec())
    await rig.local.command("l0", "pulse start")
    await rig.deliver()
    body = await _execute(rig, "pulse.answer", {"tandem_action": "pulse.answer", "tandem_value": "1"}, "f:1")
    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    card: dict[str, Any] = body["value"]
    jsonschema.Draft6Validator(SCHEMA).validate(card)  # the rules travel inside the card, still valid
    return card


async def test_a_refused_form_gets_a_reply_naming_each_input_and_the_corrected_one_is_recorded(
    rig: TeamsRig,
) -> None:
    card = await _form(rig)
    (comment,) = [b for b in card["body"] if b.get("id") == COMMENT]
    assert comment["maxLength"] == COMMENT_MAX and not comment["isRequired"]  # Teams enforces it too
    (submit,) = card["actions"]
    assert set(submit["data"][RULES_KEY]) == {*ITEMS, COMMENT}
    first, second = ITEMS[0], ITEMS[1]
    bad = {item: "4" for item in ITEMS[2:]} | {second: "7", COMMENT: "x" * (COMMENT_MAX + 1)}

    # Action.Execute (Teams merges the inputs into the action's data)
    body = await _execute(rig, submit["verb"], {**submit["data"], **bad}, "f:2")
    assert body == {
        "statusCode": 200,
        "type": "application/vnd.microsoft.activity.message",
        "value": "Nothing was recorded: please correct 3 answers and submit again.",
    }
    (reply,) = _replies(rig)
    prompts = {b["id"]: b["label"] for b in card["body"] if b.get("id")}
    assert f"{prompts[first]}** — Please choose one." in reply
    assert f"{prompts[second]}** — “7” isn't on the scale: choose 1 to 5." in reply
    assert "— Please keep this to 2,000 characters (it has 2,001)." in reply
    assert await _sealed(rig) == 0

    # an older client's Action.Submit: a message activity with the data as its value, refused the same way
    message = rig.activity("invoke_adaptive_card_action_execute", id="f:3", type="message")
    message.pop("name")
    message["value"] = {**submit["data"], **bad}
    assert (await rig.post(message))[0] == 200
    assert len(_replies(rig)) == 2 and _replies(rig)[1] == reply
    assert await _sealed(rig) == 0

    # the same card, corrected
    good = {item: "4" for item in ITEMS} | {COMMENT: "We listen well."}
    body = await _execute(rig, submit["verb"], {**submit["data"], **good}, "f:4")
    assert body["value"] == "Got it."
    assert await _sealed(rig) == 1
    await rig.deliver()
    assert any("your answers are in" in rig.connector.text(c) for c in rig.connector.sends())
