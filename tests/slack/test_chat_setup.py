"""`/tandem setup` through a signed Slack slash command: mentions become members with Slack identities."""

from __future__ import annotations

import json

from sqlalchemy import select

from storage import teams
from storage.models import Identity
from tests.slack.conftest import SlackTandem


async def test_setup_through_a_signed_slack_slash_command(tandem: SlackTandem) -> None:
    tandem.fake.names.update({"W111": "Maria", "W222": "David"})
    text = "setup Riverside DLT; America/Los_Angeles; labor <@W111|maria>; management <@W222>"
    assert (await tandem.command(text, user="W111", channel="C777")).status == 200
    await tandem.settle()
    async with tandem.runtime.sessions() as session:
        team = await teams.team_by_name(session, "Riverside DLT")
        assert team is not None
        members = await teams.members(session, team.id)
        identities = (await session.execute(select(Identity.platform, Identity.user_id))).all()
    assert [(m.name, m.side, m.co_chair) for m in members] == [
        ("Maria", "labor", True),
        ("David", "management", True),
    ]
    assert sorted(identities) == [("slack", "W111"), ("slack", "W222")]
    # the channel keeps the name people know it by (the command's channel_name), not only its id
    assert [(c.platform, c.address, c.name) for c in team.channels] == [("slack", "C777", "#random")]
    posted = [c for c in tandem.fake.called("chat.postMessage") if c.args["channel"] == "C777"]
    assert posted and "Riverside DLT" in json.dumps(posted[-1].args["blocks"])
    assert "#random (slack)" in json.dumps(posted[-1].args["blocks"]) and "C777" not in json.dumps(
        posted[-1].args["blocks"]
    )
    # no meeting yet: the card and `roles` say so, and who can add one
    assert "none scheduled yet" in json.dumps(posted[-1].args["blocks"])
    await tandem.command("roles", user="W222", channel="C777")
    await tandem.settle()
    reply = tandem.fake.responses[-1][1]
    assert "Next meeting: none scheduled yet (whoever runs Tandem" in json.dumps(reply["blocks"])
    assert reply["text"] == "Roles are announced before each meeting. Next meeting: none scheduled yet…"
