"""Removing a team (`tandem team remove`) takes its talking points, approvals, corrections, decisions and
reopen votes with it, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from flows.talking_points import cards
from storage import team_removal
from storage.talking_points_models import (
    DecisionReopenVote,
    TalkingPointApproval,
    TalkingPointSet,
)
from tests.conftest import Stack
from tests.talking_points.conftest import act, approve_value, click, points_team


@pytest.mark.both_databases  # foreign keys and cascades
async def test_removing_a_team_removes_its_talking_points_and_decisions(stack: Stack) -> None:
    team = await stack.import_team(points_team())
    await act(stack, "ana", "points draft First")
    await click(stack, "ana", cards.APPROVE, approve_value(stack, "ana"))
    await click(stack, "ben", cards.APPROVE, approve_value(stack, "ben"))
    await stack.local.submit(
        "ben",
        cards.DECIDE_SUBMIT,
        {
            cards.TEXT: "A",
            cards.LEVEL: "1",
            cards.MY_SIDE: "labor",
            cards.DECIDED_BY: "Ana Labor",
            cards.REASONS: "B",
        },
    )
    await act(stack, "cy", "decisions reopen 1 New facts")
    await click(stack, "cy", cards.REOPEN_VOTE, "1:yes")
    await stack.local.submit(
        "ana", cards.SUBMIT, {cards.POINTS: "Corrected", "ch_0": "yes"}, metadata="correct:1"
    )
    async with stack.sessions() as session, session.begin():
        footprint = await team_removal.footprint(session, team.id)
        assert footprint.rows["talking_point_sets"] == 2 and footprint.rows["decisions"] == 1
        await team_removal.remove_team(session, team.id, include_history=True)
    async with stack.sessions() as session:
        for model in (TalkingPointSet, TalkingPointApproval, DecisionReopenVote):
            assert (await session.execute(select(func.count()).select_from(model))).scalar_one() == 0
