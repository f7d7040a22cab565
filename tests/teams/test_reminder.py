"""The norms-and-roles reminder reaches a Teams channel proactively, beside a local channel of the same team,
and a person with a Teams and a local identity is one person, reachable by DM on Teams."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from sqlalchemy import select

from flows.core import outbox
from flows.core.types import Card, Delivery, Recipient
from storage import schedules, teams
from storage.models import OutboxMessage
from storage.teams_conversations import TeamsConversation
from tests.teams.conftest import CHANNEL, RIDO_29, RIDO_AAD, TeamsRig, teams_team_spec

SCHEMA = json.loads((Path(__file__).parent / "data" / "adaptive-card-1.5.schema.json").read_text())


async def test_the_reminder_reaches_the_teams_and_the_local_channel(rig: TeamsRig) -> None:
    spec = teams_team_spec(
        channels=[
            {"platform": "teams", "id": CHANNEL, "name": "Solutions Team"},
            {"platform": "local", "id": "team-channel", "name": "#team"},
        ]
    )
    team = await rig.import_team(spec)
    # first contact in the channel (an @mention) stores its conversation reference
    status, _ = await rig.post(
        rig.activity("message_channel_reply_with_mention", text="<at>ridotest</at> roles")
    )
    assert status == 200
    await rig.deliver()
    rig.connector.calls.clear()
    async with rig.runtime.sessions() as session:
        due = (await schedules.for_team(session, team.id, "meeting"))[0].next_fire_at
    assert due is not None
    rig.clock.set(due)
    report = await rig.runtime.engine.tick()
    assert report.ran == 1
    await rig.deliver()
    [post] = rig.connector.sends()
    assert post.conversation == CHANNEL
    card = rig.connector.card(post)
    jsonschema.Draft6Validator(SCHEMA).validate(card)
    text = rig.connector.text(post)
    assert "Norm of focus" in text and "Facilitator" in text and "[Pass my role]" in text
    [local] = [e for e in rig.local.transcript if e.target.get("address") == "team-channel"]
    assert "Norm of focus" in local.text


async def test_one_person_two_identities_and_a_dm_to_someone_who_never_wrote(rig: TeamsRig) -> None:
    team = await rig.import_team(teams_team_spec())
    async with rig.runtime.sessions() as session:
        on_teams = await teams.person_by_identity(session, "teams", RIDO_AAD)
        on_local = await teams.person_by_identity(session, "local", "rido")
        ben = await teams.person_by_identity(session, "teams", "aad-ben")
    assert on_teams is not None and on_local is not None and on_teams.id == on_local.id
    assert ben is not None
    # the app is added to the team: the roster gives Ben's Teams id for his Azure AD id
    rig.connector.roster = [
        {"id": RIDO_29, "name": "rido", "aadObjectId": RIDO_AAD},
        {"id": "29:ben", "name": "Ben Manager", "aadObjectId": "aad-ben", "email": "ben@district.org"},
    ]
    install = rig.activity("conversation_update_bot_added_to_team")
    assert (await rig.post(install))[0] == 200
    assert await rig.deliver() == 1  # the welcome, in the channel it was added to
    rig.connector.calls.clear()
    async with rig.runtime.sessions() as session, session.begin():
        for person in (on_teams.id, ben.id):
            await outbox.enqueue(
                session,
                Delivery(
                    Recipient.person(person), Card.plain("Your role at Tuesday's meeting"), team_id=team.id
                ),
                rig.clock.now(),
            )
    assert await rig.deliver() == 2
    created = [c for c in rig.connector.calls if c.method == "POST" and c.conversation is None]
    assert sorted(c.body["members"][0]["id"] for c in created) == sorted([RIDO_29, "29:ben"])
    sends = rig.connector.sends()
    assert len(sends) == 2 and all("Your role" in rig.connector.text(s) for s in sends)
    async with rig.runtime.sessions() as session:
        personal = list(
            (
                await session.execute(select(TeamsConversation).where(TeamsConversation.kind == "personal"))
            ).scalars()
        )
        identities = await teams.identities_of(session, ben.id)
        sent = list((await session.execute(select(OutboxMessage.status))).scalars())
    assert len(personal) == 2 and set(sent) == {"sent"}
    assert identities[0].dm_address in {p.conversation_id for p in personal}  # next time: straight there
