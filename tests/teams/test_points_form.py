"""Talking points through the real botbuilder stack: the management co-chair, on Teams, presses Edit on
the approval card and gets the draft form as an input card (valid Adaptive Card 1.5); the edit clears the
labor co-chair's approval; both approve and the joint post reaches the Teams channel once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from flows.talking_points import cards
from flows.talking_points.rules import hash_of
from storage import talking_points
from tests.teams.conftest import INSTALLED_CHANNEL, TeamsRig
from tests.teams.conftest import fixture as teams_fixture

SCHEMA = json.loads((Path(__file__).parent / "data" / "adaptive-card-1.5.schema.json").read_text())
GUS = teams_fixture("invoke_adaptive_card_action_execute")["from"]["aadObjectId"]  # the fixture's sender
LABEL = "Joint talking points — agreed by Lena Labor (labor) and Gus Coach (management)"


def _spec() -> dict[str, Any]:
    return {
        "name": "Riverside Solutions Team",
        "timezone": "America/Los_Angeles",
        "channels": [{"platform": "teams", "id": INSTALLED_CHANNEL, "name": "Solutions Team"}],
        "members": [
            {"name": "Lena Labor", "side": "labor", "co_chair": True, "local": "lena"},
            {"name": "Gus Coach", "side": "management", "co_chair": True, "teams": GUS},
            {"name": "Cy Teacher", "side": "labor", "local": "cy"},
        ],
    }


async def _execute(rig: TeamsRig, verb: str, data: dict[str, Any], activity_id: str) -> Any:
    activity = rig.activity("invoke_adaptive_card_action_execute", id=activity_id)
    activity["value"]["action"] = {"type": "Action.Execute", "verb": verb, "data": data}
    status, body = await rig.post(activity)
    assert status == 200
    return body


async def _value(rig: TeamsRig) -> str:
    async with rig.runtime.sessions() as session:
        draft = await talking_points.current_draft(session, 1)
    assert draft is not None
    return f"{draft.id}:{hash_of(draft)}"


async def test_edit_on_teams_clears_approvals_and_the_post_goes_out_once(rig: TeamsRig) -> None:
    await rig.import_team(_spec())
    await rig.local.command("cy", "points draft First version")
    await rig.local.click("lena", cards.APPROVE, await _value(rig))
    await rig.deliver()
    body = await _execute(rig, cards.EDIT, {"tandem_action": cards.EDIT, "tandem_value": "1"}, "p:1")
    form: dict[str, Any] = body["value"]
    jsonschema.Draft6Validator(SCHEMA).validate(form)
    assert "First version" in json.dumps(form)
    (submit,) = form["actions"]
    edited = {cards.POINTS: "Second version", "ch_0": "yes"}
    body = await _execute(rig, submit["verb"], {**submit["data"], **edited}, "p:2")
    await rig.deliver()
    told = [e.text for e in rig.local.transcript if e.target.get("user") == "lena"]
    assert any("your approval was cleared" in t for t in told)
    value = await _value(rig)
    await _execute(rig, cards.APPROVE, {"tandem_action": cards.APPROVE, "tandem_value": value}, "p:3")
    await rig.local.click("lena", cards.APPROVE, value)
    await rig.deliver()
    await rig.deliver()
    posts = [c for c in rig.connector.sends() if LABEL in " ".join(rig.connector.text(c).split())]
    assert len(posts) == 1 and posts[0].conversation == INSTALLED_CHANNEL
    assert "Second version" in rig.connector.text(posts[0]) and "First version" not in rig.connector.text(
        posts[0]
    )
