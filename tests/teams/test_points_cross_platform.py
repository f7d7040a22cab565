"""Joint talking points for a team on Slack and Teams at once: a labor co-chair approves on Slack, the
management co-chair on Teams; the approval card is updated in place on both platforms, and the post
reaches the Slack and the Teams audience channel exactly once, labelled the same way."""

from __future__ import annotations

from typing import Any

from flows.core.types import ActionEvent, Actor, CommandEvent, Conversation
from flows.setup.team_file import import_team, parse_team_file
from flows.talking_points import cards
from flows.talking_points.rules import hash_of
from storage import talking_points
from tests.slack.conftest import fake_slack  # noqa: F401
from tests.teams.conftest import CHANNEL, RIDO_AAD
from tests.teams.test_cross_platform import Both, _install_in_teams, both, mixed_team_spec  # noqa: F401

STAFF = "C900"
LABEL = "Joint talking points — agreed by Ana Labor (labor) and Rido Manager (management)"


def _spec_with_audience(spec: dict[str, Any]) -> dict[str, Any]:
    spec["broadcast_channels"] = [
        {"platform": "slack", "id": STAFF, "name": "#staff"},
        {"platform": "teams", "id": CHANNEL, "name": "Staff (Teams)"},
    ]
    return spec


async def _act(rig: Both, event: CommandEvent | ActionEvent) -> None:
    await rig.runtime.engine.handle(event)
    await rig.deliver()


def _slack_posts(rig: Both) -> list[dict[str, Any]]:
    return [
        c.args
        for c in rig.slack.called("chat.postMessage")
        if c.args.get("channel") == STAFF and LABEL in str(c.args.get("blocks"))
    ]


def _teams_posts(rig: Both) -> list[str]:
    return [rig.teams.text(c) for c in rig.teams.sends() if LABEL in rig.teams.text(c)]


async def test_approved_on_slack_and_on_teams_posted_once_on_each(both: Both) -> None:  # noqa: F811
    async with both.runtime.sessions() as session, session.begin():
        spec = parse_team_file(_spec_with_audience(mixed_team_spec()))
        team = await import_team(session, spec, both.clock.now())
    await _install_in_teams(both)
    ana = Actor("slack", "W111")
    rido = Actor("teams", RIDO_AAD)
    on_slack = Conversation("slack", "C111")
    await _act(both, CommandEvent(ana, on_slack, "points draft Class sizes stay at 24 | Vote on 3 November"))
    async with both.runtime.sessions() as session:
        draft = await talking_points.current_draft(session, team.id)
    assert draft is not None
    value = f"{draft.id}:{hash_of(draft)}"
    await _act(both, ActionEvent(ana, on_slack, cards.APPROVE, value))
    assert _slack_posts(both) == [] and _teams_posts(both) == []
    # the card in the team's Teams channel was replaced in place with Ana's approval
    updates = [c for c in both.teams.calls if c.method == "PUT" and c.conversation == CHANNEL]
    assert updates and "approved by Ana Labor" in str(updates[-1].body)
    assert any("approved by Ana Labor" in str(c.args.get("blocks")) for c in both.slack.called("chat.update"))
    await _act(
        both, ActionEvent(rido, Conversation("teams", "a:rido-dm", is_direct=True), cards.APPROVE, value)
    )
    await both.deliver()
    assert len(_slack_posts(both)) == 1
    assert len(_teams_posts(both)) == 1
    assert "Class sizes stay at 24" in _teams_posts(both)[0]
    # the cards everywhere lost their buttons
    final = [c for c in both.teams.calls if c.method == "PUT" and c.conversation == CHANNEL][-1]
    assert "points.approve" not in str(final.body)
    # nothing more goes out on another pass of the worker
    await both.deliver()
    assert len(_slack_posts(both)) == 1 and len(_teams_posts(both)) == 1
