"""Talking points through the real slack-bolt stack: `/tandem points draft` opens the form as a modal, its
submit drafts for the team, and the approval card reaches both co-chairs with its Approve button."""

from __future__ import annotations

from flows.talking_points import cards
from tests.slack.conftest import SlackTandem, buttons, slack_team_spec


async def test_the_draft_modal_and_the_card_on_slack(tandem: SlackTandem) -> None:
    await tandem.import_team(
        slack_team_spec(broadcast_channels=[{"platform": "slack", "id": "C900", "name": "#staff"}])
    )
    assert (await tandem.command("points draft", user="W333", channel="C111")).status == 200
    await tandem.settle()
    view_id = list(tandem.fake.opened.values())[-1]
    view = tandem.fake.views[view_id]
    assert view["callback_id"] == cards.SUBMIT
    inputs = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    assert inputs == [cards.POINTS, cards.NOTE, "ch_0"]
    values = {
        cards.POINTS: "Class sizes stay at 24\nThe vote is on 3 November",
        cards.NOTE: None,
        "ch_0": "yes",
    }
    assert (await tandem.submit("W333", view, values, view_id=view_id)).status == 200  # type: ignore[arg-type]
    await tandem.settle()
    for chair in ("W111", "W222"):
        posted = [
            c.args for c in tandem.fake.called("chat.postMessage") if c.args.get("channel") == f"D{chair}"
        ]
        assert posted and buttons(posted[-1], cards.APPROVE), chair
        assert "Class sizes stay at 24" in str(posted[-1]["blocks"])
