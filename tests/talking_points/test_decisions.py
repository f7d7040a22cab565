"""The decision log: a co-chair records a decision with its level on the 7-point continuum and whose "my"
it is; attached to talking points it says who decided; a reopen vote passes at 75 % of the team and fails
at 74 %."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from flows.content.continuum import continuum
from flows.talking_points import cards
from flows.talking_points.rules import reopen_outcome
from storage.talking_points_models import Decision, DecisionReopenRequest
from tests.conftest import Stack, team_spec
from tests.talking_points.conftest import (
    act,
    approve_value,
    click,
    last_to,
    points_team,
    posts_to,
    replies_to,
)


def test_the_continuum_has_the_sources_seven_levels_in_order() -> None:
    levels = continuum().levels
    assert [lv.wording for lv in levels] == [
        "MY Decision",
        "MY Decision — I will INFORM you prior to implementation.",
        "MY Decision — I will CONSULT with you before I decide.",
        "JOINT Decision — We will CO-CONSTRUCT this decision.",
        "YOUR Decision — You will CONSULT with me before you decide.",
        "YOUR Decision — You will INFORM me before implementation.",
        "YOUR Decision",
    ]
    assert "Dolan" in continuum().attribution


def test_seventy_five_percent_passes_and_seventy_four_fails() -> None:
    assert reopen_outcome(75, 0, 100) == "passed"
    assert reopen_outcome(74, 0, 100) is None  # still open: more may agree
    assert reopen_outcome(74, 26, 100) == "failed"
    assert reopen_outcome(3, 0, 4) == "passed"
    assert reopen_outcome(2, 2, 4) == "failed"


DECISION = {
    cards.TEXT: "Keep the late-start Wednesdays next year",
    cards.LEVEL: "3",
    cards.MY_SIDE: "management",
    cards.DECIDED_BY: "Ben Manager, Superintendent Ortiz",
    cards.REASONS: "Teachers asked for collaboration time",
    cards.MEETING: "Solutions Team, 20 October",
}


async def _decide(stack: Stack, user: str, values: dict[str, str]) -> None:
    await stack.local.command(user, "decide")
    form = stack.local.last_form
    assert form is not None and form.form_id == cards.DECIDE_SUBMIT, replies_to(stack, user)[-1:]
    await stack.local.submit(user, form, values)
    await stack.worker.drain()


async def test_a_decision_is_recorded_listed_and_says_who_decided_in_the_talking_points(stack: Stack) -> None:
    await stack.import_team(points_team())
    await act(stack, "cy", "decide")
    assert "Only a co-chair can record a decision" in replies_to(stack, "cy")[-1]
    await _decide(stack, "ben", DECISION)
    assert "Decision #1 recorded" in replies_to(stack, "ben")[-1]
    posted = posts_to(stack, "team-channel")[-1]
    assert (
        "3. MY Decision — I will CONSULT with you before I decide. (“MY” = management, “YOUR” = labor)"
        in posted
    )
    assert "Ben Manager (management), Superintendent Ortiz" in posted
    await act(stack, "cy", "decisions")
    assert "Keep the late-start Wednesdays" in replies_to(stack, "cy")[-1]
    await act(stack, "ana", "points draft Late-start Wednesdays continue")
    await act(stack, "ana", "points attach 1")
    await click(stack, "ana", cards.APPROVE, approve_value(stack, "ana"))
    await click(stack, "ben", cards.APPROVE, approve_value(stack, "ben"))
    staff = posts_to(stack, "staff")
    assert len(staff) == 1
    assert "Decided (#1): Keep the late-start Wednesdays next year — by Ben Manager (management)" in staff[0]
    # bad input: no level, no reasons
    await _decide(stack, "ana", {**DECISION, cards.LEVEL: "9"})
    assert "“9” isn't on the scale: choose 1 to 7" in last_to(stack, "ana")  # the form's own rules
    await _decide(stack, "ana", {**DECISION, cards.REASONS: " "})
    assert "Nothing was recorded" in last_to(stack, "ana")
    async with stack.sessions() as session:
        assert len(list((await session.execute(select(Decision))).scalars())) == 1


def _team_of(n: int) -> dict[str, Any]:
    members = [
        {"name": "Ana Labor", "side": "labor", "co_chair": True, "local": "u0"},
        {"name": "Ben Manager", "side": "management", "co_chair": True, "local": "u1"},
    ]
    members += [{"name": f"Member {i}", "side": "labor", "local": f"u{i}"} for i in range(2, n)]
    return team_spec(members=members)


async def _vote(stack: Stack, n: int, agree: int) -> tuple[str, list[str]]:
    await stack.import_team(_team_of(n))
    await stack.local.submit("u1", cards.DECIDE_SUBMIT, DECISION)
    await stack.local.command("u2", "decisions reopen 1 The state changed the minutes required")
    await stack.worker.drain()
    async with stack.sessions() as session:
        request_id = (await session.execute(select(DecisionReopenRequest.id))).scalar_one()
    for i in range(n):
        await stack.local.click(f"u{i}", cards.REOPEN_VOTE, f"{request_id}:{'yes' if i < agree else 'no'}")
    await stack.worker.drain()
    async with stack.sessions() as session:
        status = (await session.execute(select(DecisionReopenRequest.status))).scalar_one()
    return status, posts_to(stack, "team-channel")


@pytest.mark.both_databases  # storage: approvals, locks, counts
async def test_a_reopen_vote_at_75_percent_reopens_the_decision(stack: Stack) -> None:
    status, posts = await _vote(stack, 4, 3)
    assert status == "passed"
    assert any("is reopened: 75 % of the team agreed" in p for p in posts)
    async with stack.sessions() as session:
        assert (await session.execute(select(Decision.status))).scalar_one() == "reopened"
    await stack.local.click("u3", cards.REOPEN_VOTE, "1:yes")
    await stack.worker.drain()
    assert "This vote is over" in replies_to(stack, "u3")[-1]


async def test_a_reopen_vote_at_74_percent_fails(stack: Stack) -> None:
    status, posts = await _vote(stack, 27, 20)  # 20 of 27: 74.1 %
    assert status == "failed"
    assert any("stands: the vote to reopen it did not reach 75 %" in p for p in posts)
    async with stack.sessions() as session:
        assert (await session.execute(select(Decision.status))).scalar_one() == "standing"
