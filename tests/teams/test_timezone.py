"""A person's time zone from the Teams activity's `clientInfo` entity, over HTTP through the real botbuilder
stack (Microsoft's captured activities, tests/teams/fixtures): stored on the member's person, an unknown
zone never stored, a stranger's zone nowhere."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import select

from storage.calendar import person_zones
from storage.models import Identity, Person
from tests.teams.conftest import RIDO_AAD, TeamsRig, fixture, teams_team_spec


def _with_zone(activity: dict[str, Any], zone: str) -> dict[str, Any]:
    activity = copy.deepcopy(activity)
    for entity in activity["entities"]:
        if entity["type"] == "clientInfo":
            entity["timezone"] = zone
    activity["localTimezone"] = None
    return activity


GUS = fixture("invoke_adaptive_card_action_execute")["from"]["aadObjectId"]  # that fixture's sender


async def _zone(rig: TeamsRig, aad: str = RIDO_AAD) -> str | None:
    async with rig.runtime.sessions() as session:
        stmt = select(Person.timezone).join(Identity).where(Identity.user_id == aad)
        return (await session.execute(stmt)).scalar_one()


async def test_client_info_timezone_is_stored_and_an_unknown_one_is_ignored(rig: TeamsRig) -> None:
    spec = teams_team_spec()
    spec["members"].append({"name": "Gus", "side": "other", "teams": GUS})
    team = await rig.import_team(spec)
    mention = rig.activity("message_channel_reply_with_mention", text="<at>ridotest</at> norms")
    status, _ = await rig.post(_with_zone(mention, "America/New_York"))
    assert status == 200
    assert await _zone(rig) == "America/New_York"
    status, _ = await rig.post(_with_zone(dict(mention, id="second"), "Mars/Olympus_Mons"))
    assert status == 200
    assert await _zone(rig) == "America/New_York"
    # an Action.Execute invoke carries the entity too
    invoke = rig.activity("invoke_adaptive_card_action_execute")
    status, _ = await rig.post(_with_zone(invoke, "America/Chicago"))
    assert status == 200
    assert await _zone(rig, GUS) == "America/Chicago"
    async with rig.runtime.sessions() as session:
        zones = await person_zones(session, team.id)
    assert sorted(zones.values()) == ["America/Chicago", *["America/Los_Angeles"] * 3, "America/New_York"]


async def test_a_strangers_zone_is_stored_nowhere(rig: TeamsRig) -> None:
    await rig.import_team(teams_team_spec())
    stranger = rig.activity("message_channel_reply_with_mention", text="<at>ridotest</at> help")
    stranger["from"] = {"id": "29:stranger", "name": "Stranger", "aadObjectId": "aad-stranger"}
    status, _ = await rig.post(_with_zone(stranger, "Europe/Paris"))
    assert status == 200
    async with rig.runtime.sessions() as session:
        stored = (await session.execute(select(Person.timezone).where(Person.timezone.is_not(None)))).all()
    assert stored == []
