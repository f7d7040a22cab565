"""Form metadata, preselected choices and @mentions reach the flows in their neutral shape."""

from __future__ import annotations

import copy
from typing import Any

from adapters.teams.cards import METADATA_KEY, render_form
from flows.core.types import ActionEvent, Actor, Choice, CommandEvent, Event, Form, Question
from storage import teams_conversations as store
from tests.teams.conftest import RIDO_AAD, TEAM, TENANT, TeamsRig, teams_team_spec
from tests.teams.test_cards import valid

BEN_29 = "29:1ben-teams-id"
CY_29 = "29:1cy-teams-id"


def _record(rig: TeamsRig) -> list[Event]:
    seen: list[Event] = []
    handle = rig.adapter.handle

    async def recording(event: Event) -> Any:
        seen.append(event)
        return await handle(event)

    rig.adapter.handle = recording
    return seen


def test_initial_choice_is_the_choice_set_value() -> None:
    choices = (Choice("1", "One"), Choice("2", "Two"))
    form = Form(
        "pulse.edit",
        "Edit",
        (
            Question("q", "Pick", choices, "radio", initial="2"),
            Question("r", "Pick again", choices, "select"),
            Question("s", "Unknown initial", choices, "select", initial="9"),
        ),
    )
    card = valid(render_form(form))
    sets = {b["id"]: b for b in card["body"] if b["type"] == "Input.ChoiceSet"}
    assert sets["q"]["value"] == "2"
    assert "value" not in sets["r"] and "value" not in sets["s"]


async def test_submitted_form_metadata_is_the_event_metadata(rig: TeamsRig) -> None:
    seen = _record(rig)
    activity = rig.activity("invoke_adaptive_card_action_execute")
    activity["value"]["action"]["verb"] = "checkin.submit"
    activity["value"]["action"]["data"] = {"mood": "2", METADATA_KEY: "team=3"}
    status, _ = await rig.post(activity)
    assert status == 200
    [event] = [e for e in seen if isinstance(e, ActionEvent)]
    assert event.metadata == "team=3"
    assert event.values == {"mood": "2"}  # no "_metadata" among the inputs any more


async def test_people_mentioned_become_numbered_actors(rig: TeamsRig) -> None:
    await rig.import_team(teams_team_spec())
    async with rig.runtime.sessions() as session, session.begin():  # Ben is on the roster, Cy is not
        await store.save_roster(
            session,
            TEAM,
            TENANT,
            [store.RosterEntry(BEN_29, "aad-ben", "Ben Manager", None)],
            rig.clock.now(),
        )
    seen = _record(rig)
    activity = rig.activity("message_channel_reply_with_mention")
    bot_mention = copy.deepcopy(activity["entities"][0])
    activity["text"] = (
        "<at>ridotest</at> roles give <at>Ben Manager</at> and <at>Cy Teacher</at> to <at>Ben Manager</at>"
    )
    activity["entities"] = [
        bot_mention,
        {
            "type": "mention",
            "text": "<at>Ben Manager</at>",
            "mentioned": {"id": BEN_29, "name": "Ben Manager"},
        },
        {
            "type": "mention",
            "text": "<at>Cy Teacher</at>",
            "mentioned": {"id": CY_29, "name": "Cy Teacher", "aadObjectId": "aad-cy"},
        },
        {
            "type": "mention",
            "text": "<at>Ben Manager</at>",
            "mentioned": {"id": BEN_29, "name": "Ben Manager"},
        },
    ]
    status, _ = await rig.post(activity)
    assert status == 200
    [event] = [e for e in seen if isinstance(e, CommandEvent)]
    assert event.text == "roles give @0 and @1 to @0"
    # the ids a team file uses: Ben's AAD id found through the roster, Cy's from the mention entity
    assert event.mentions == (
        Actor("teams", "aad-ben", "Ben Manager"),
        Actor("teams", "aad-cy", "Cy Teacher"),
    )
    assert event.actor.user_id == RIDO_AAD


async def test_only_the_bot_mentioned_means_no_mentions(rig: TeamsRig) -> None:
    seen = _record(rig)
    status, _ = await rig.post(rig.activity("message_channel_reply_with_mention"))
    assert status == 200
    [event] = [e for e in seen if isinstance(e, CommandEvent)]
    assert event.text == "reply to thread" and event.mentions == ()
