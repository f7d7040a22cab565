"""Inbound: Microsoft's activity fixtures posted over HTTP to /api/messages become neutral events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from storage.models import OutboxMessage, ProcessedEvent
from storage.teams_conversations import TeamsConversation, TeamsMember
from tests.teams.conftest import CHANNEL, RIDO_29, RIDO_AAD, TEAM, TENANT, TeamsRig, teams_team_spec


async def _count(rig: TeamsRig, model: Any) -> int:
    async with rig.runtime.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_channel_mention_is_a_command_answered_privately(rig: TeamsRig) -> None:
    await rig.import_team(teams_team_spec())
    status, _ = await rig.post(
        rig.activity("message_channel_reply_with_mention", text="<at>ridotest</at> norms")
    )
    assert status == 200
    async with rig.runtime.sessions() as session:
        channel = (
            await session.execute(
                select(TeamsConversation).where(TeamsConversation.conversation_id == CHANNEL)
            )
        ).scalar_one()
        member = (await session.execute(select(TeamsMember))).scalar_one()
    assert channel.kind == "channel" and channel.team_id == TEAM and channel.tenant_id == TENANT
    assert channel.reference["conversation"]["id"] == CHANNEL  # the channel, not the thread
    assert (member.user_id, member.aad_object_id) == (RIDO_29, RIDO_AAD)
    assert await rig.deliver() == 1
    # Teams has no ephemeral messages: the private answer opens a personal chat with the speaker.
    created = [c for c in rig.connector.calls if c.method == "POST" and c.conversation is None]
    assert len(created) == 1
    assert created[0].body["members"] == [{"id": RIDO_29}]
    assert created[0].body["channelData"] == {"tenant": {"id": TENANT}}
    [send] = rig.connector.sends()
    assert send.conversation == "a:created-1"
    assert "The Seven Norms of Collaborative Work" in rig.connector.text(send)
    # the new personal chat is remembered for next time
    async with rig.runtime.sessions() as session:
        personal = (
            await session.execute(select(TeamsConversation).where(TeamsConversation.kind == "personal"))
        ).scalar_one()
    assert personal.conversation_id == "a:created-1"


async def test_mention_text_is_stripped() -> None:
    from botbuilder.schema import Activity

    from adapters.teams.inbound import command_text
    from tests.teams.conftest import fixture

    activity = Activity().deserialize(fixture("message_channel_reply_with_mention"))
    assert command_text(activity) == "reply to thread"
    activity.text = "<at>ridotest</at>&nbsp;/tandem roles"
    assert command_text(activity) == "roles"


async def test_personal_message_gets_help_through_the_outbox(rig: TeamsRig) -> None:
    activity = rig.activity("invoke_adaptive_card_action_execute")  # a personal chat, as a message
    activity.update(type="message", text="help", id="1767765488999")
    for key in ("name", "value"):
        activity.pop(key)
    status, _ = await rig.post(activity)
    assert status == 200
    assert await rig.deliver() == 1
    [send] = rig.connector.sends()
    assert send.conversation == activity["conversation"]["id"]
    assert "What Tandem can do" in rig.connector.text(send)
    assert send.body["summary"] == "What Tandem can do"


async def test_action_execute_invoke_answers_200_with_a_body(rig: TeamsRig) -> None:
    status, body = await rig.post(rig.activity("invoke_adaptive_card_action_execute"))
    assert status == 200
    assert body == {
        "statusCode": 200,
        "type": "application/vnd.microsoft.activity.message",
        "value": "Got it.",
    }
    assert await rig.deliver() == 1  # a card from elsewhere: "That button is no longer in use."
    [send] = rig.connector.sends()
    assert "no longer in use" in rig.connector.text(send)


async def test_a_redelivered_activity_is_processed_once(rig: TeamsRig) -> None:
    activity = rig.activity("message_channel_reply_with_mention", text="<at>ridotest</at> help")
    assert (await rig.post(activity))[0] == 200
    assert (await rig.post(activity))[0] == 200
    assert await _count(rig, OutboxMessage) == 1


async def test_message_back_submit_is_an_action(rig: TeamsRig) -> None:
    status, _ = await rig.post(rig.activity("message_back_submit"))
    assert status == 200
    async with rig.runtime.sessions() as session:
        [row] = (await session.execute(select(OutboxMessage))).scalars()
    assert row.target["private_to"] == "29:102jd210jd010icsoaeclaejcoa9ue09u"
    assert row.payload is not None and "no longer in use" in str(row.payload)


async def test_bot_added_to_a_team_stores_the_channel_and_the_roster(rig: TeamsRig) -> None:
    rig.connector.roster = [
        {"id": "29:ana", "name": "Ana", "aadObjectId": "aad-ana", "email": "ana@district.org"},
        {"id": "29:ben", "name": "Ben", "aadObjectId": "aad-ben", "userPrincipalName": "ben@district.org"},
    ]
    activity = rig.activity("conversation_update_bot_added_to_team")
    status, _ = await rig.post(activity)
    assert status == 200
    async with rig.runtime.sessions() as session:
        [channel] = (await session.execute(select(TeamsConversation))).scalars()
        members = {m.user_id: m for m in (await session.execute(select(TeamsMember))).scalars()}
        processed = await session.execute(select(func.count()).select_from(ProcessedEvent))
    assert channel.conversation_id == "19:0b7f32667e064dd9b25d7969801541f4@thread.tacv2"
    assert channel.tenant_id == "b28fdbfd-2b78-4f93-b0f8-8881793f0f8f"
    assert channel.service_url == rig.connector.url
    assert members["29:ben"].email == "ben@district.org" and members["29:ana"].aad_object_id == "aad-ana"
    assert processed.scalar_one() == 1  # the InstalledEvent went through the engine
    # removing the bot marks the conversation uninstalled; a later post there fails for good
    removed = dict(activity, id="f:removed", membersRemoved=activity["membersAdded"])
    removed.pop("membersAdded")
    assert (await rig.post(removed))[0] == 200
    async with rig.runtime.sessions() as session:
        [channel] = (await session.execute(select(TeamsConversation))).scalars()
    assert channel.installed is False


async def test_bot_added_to_a_personal_chat_stores_the_reference(rig: TeamsRig) -> None:
    status, _ = await rig.post(rig.activity("conversation_update_bot_added_personal"))
    assert status == 200
    async with rig.runtime.sessions() as session:
        [row] = (await session.execute(select(TeamsConversation))).scalars()
    assert row.kind == "personal" and row.user_id == "29:<USERID>" and row.aad_object_id == "***"


async def test_installation_update_is_an_install(rig: TeamsRig) -> None:
    activity = rig.activity("conversation_update_bot_added_personal", type="installationUpdate", action="add")
    activity.pop("membersAdded")
    assert (await rig.post(activity))[0] == 200
    assert await _count(rig, ProcessedEvent) == 1
    assert await _count(rig, TeamsConversation) == 1


async def test_malformed_requests_are_400_with_a_reason_and_store_nothing(rig: TeamsRig) -> None:
    cases: list[tuple[Any, str]] = [
        (b"{not json", "not JSON"),
        ("[1, 2]", "JSON object"),
        ({"conversation": {"id": "x"}}, "no type"),
        ({"type": "message", "from": {"id": "29:a"}, "serviceUrl": rig.connector.url}, "conversation"),
        ({"type": "message", "conversation": {"id": "a"}, "serviceUrl": rig.connector.url}, "sender"),
        ({"type": "message", "conversation": {"id": "a"}, "from": {"id": "29:a"}}, "serviceUrl"),
        (dict(rig.activity("message_back_submit"), entities={"x": 1}), "entities must be a list"),
    ]
    for body, reason in cases:
        status, answer = await rig.post(body)
        assert status == 400, body
        assert reason in answer["error"]
    assert await _count(rig, ProcessedEvent) == 0
    assert await _count(rig, TeamsConversation) == 0


async def test_members_added_after_install_join_the_roster(rig: TeamsRig) -> None:
    from flows.core import outbox
    from flows.core.types import Card, Delivery, Recipient
    from storage import teams

    team = await rig.import_team(
        teams_team_spec(
            members=[
                *teams_team_spec()["members"],
                {"name": "Ed Newcomer", "side": "labor", "teams": "aad-ed"},
            ]
        )
    )
    rig.connector.roster = [{"id": RIDO_29, "name": "rido", "aadObjectId": RIDO_AAD}]
    install = rig.activity("conversation_update_bot_added_to_team")
    assert (await rig.post(install))[0] == 200
    await rig.deliver()
    # later, two people are added to the team: Ed (the Bot Connector knows his details), Fay (only the
    # activity's data)
    rig.connector.roster.append(
        {"id": "29:ed", "name": "Ed Newcomer", "aadObjectId": "aad-ed", "email": "ed@district.org"}
    )
    added = rig.activity(
        "conversation_update_bot_added_to_team",
        id="f:members-added-later",
        membersAdded=[{"id": "29:ed"}, {"id": "29:fay", "aadObjectId": "aad-fay", "name": "Fay"}],
    )
    assert (await rig.post(added))[0] == 200
    async with rig.runtime.sessions() as session:
        rows = {
            m.user_id: m
            for m in (await session.execute(select(TeamsMember))).scalars()
            if m.user_id in ("29:ed", "29:fay")
        }
        ed = await teams.person_by_identity(session, "teams", "aad-ed")
    assert (rows["29:ed"].aad_object_id, rows["29:ed"].email) == ("aad-ed", "ed@district.org")
    assert (rows["29:fay"].aad_object_id, rows["29:fay"].name) == ("aad-fay", "Fay")
    assert rows["29:ed"].tenant_id == added["channelData"]["tenant"]["id"]
    # Ed never wrote to the bot: a DM to him opens a personal chat with his Teams id from the re-sync
    assert ed is not None
    await rig.deliver()
    rig.connector.calls.clear()
    async with rig.runtime.sessions() as session, session.begin():
        await outbox.enqueue(
            session,
            Delivery(Recipient.person(ed.id), Card.plain("Welcome, Ed"), team_id=team.id),
            rig.clock.now(),
        )
    assert await rig.deliver() == 1
    [created] = [c for c in rig.connector.calls if c.method == "POST" and c.conversation is None]
    assert created.body["members"] == [{"id": "29:ed"}]
