"""Drafts that cannot go out get a clear reply and store nothing: empty, over Slack's section-text and
block limits, over Teams' message size; edits by a plain member; a second draft while one is open."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from adapters.slack.render import message
from adapters.teams.cards import card_bytes, render_card
from flows.core.catalog import Words
from flows.talking_points import cards, rules
from flows.talking_points.cards import joint_post
from storage.talking_points import Channel, PointSet
from storage.talking_points_models import TalkingPointSet
from tests.conftest import Stack
from tests.talking_points.conftest import act, points_team, replies_to


async def _sets(stack: Stack) -> int:
    async with stack.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(TalkingPointSet))).scalar_one())


async def test_drafts_that_cannot_go_out_are_refused_with_the_reason(stack: Stack) -> None:
    await stack.import_team(points_team())
    await act(stack, "cy", "points draft  |  | ")
    assert "at least one talking point" in replies_to(stack, "cy")[-1]
    await act(stack, "cy", "points draft " + "x" * 3001)
    assert "characters; Slack shows at most 3000 in one block" in replies_to(stack, "cy")[-1]
    await act(stack, "cy", "points draft " + " | ".join(f"point {n}" for n in range(60)))
    assert "Slack allows 50 in one message" in replies_to(stack, "cy")[-1]
    await act(stack, "cy", "points draft " + " | ".join(f"{n} " + "é" * 2500 for n in range(12)))
    assert "Teams refuses bot messages over 25 KB" in replies_to(stack, "cy")[-1]
    assert await _sets(stack) == 0
    # a form submit that picks no channel
    await stack.local.command("cy", "points draft")
    form = stack.local.last_form
    assert form is not None
    await stack.local.submit("cy", form, {cards.POINTS: "One point", "ch_0": "no", "ch_1": "no"})
    await stack.worker.drain()
    assert "at least one channel" in replies_to(stack, "cy")[-1]
    assert await _sets(stack) == 0


async def test_only_the_facilitator_or_a_co_chair_edits_and_one_draft_at_a_time(stack: Stack) -> None:
    await stack.import_team(points_team())
    await act(stack, "cy", "points draft A point")
    await act(stack, "di", "points edit")
    assert stack.local.last_form is None
    assert "Only the facilitator or a co-chair" in replies_to(stack, "di")[-1]
    await act(stack, "di", "points draft Another")
    assert "already a draft" in replies_to(stack, "di")[-1]
    assert await _sets(stack) == 1


def test_what_the_limits_accept_slack_and_teams_accept() -> None:
    """The largest post the checks let through fits Slack's blocks and Teams' strictest size as rendered."""
    say = Words()
    channel = Channel("slack", "C1", "#staff")
    points = tuple(f"{n} " + "é" * 230 for n in range(44))
    point_set = PointSet(1, 1, "joint", "draft", 1, points, None, (channel,), (), None, None, *([None] * 4))  # type: ignore[arg-type]
    post = joint_post(point_set, say, "2026-10-20", [])
    assert rules.too_big(post) is None
    assert len(message(post)["blocks"]) <= rules.SLACK_BLOCKS
    assert card_bytes(render_card(post)) <= 28_000
    bigger = joint_post(
        PointSet(
            1, 1, "joint", "draft", 1, (*points, "é" * 600), None, (channel,), (), None, None, *([None] * 4)
        ),  # type: ignore[arg-type]
        say,
        "2026-10-20",
        [],
    )
    assert rules.too_big(bigger) is not None
    assert json.dumps(message(post))  # renders
