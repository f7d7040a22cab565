"""Two-side approval of the exact text: one side never publishes, an edit clears approvals and tells the
approvers, a stale approve button is refused, and the second side's approval publishes at once to every
audience channel with the joint label."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from flows.talking_points import cards
from storage import audit
from storage.talking_points_models import TalkingPointApproval, TalkingPointSet
from tests.conftest import Stack
from tests.talking_points.conftest import (
    act,
    approve_value,
    click,
    dms_to,
    latest_card,
    plain,
    points_team,
    posts_to,
    replies_to,
)

LABEL = "Joint talking points — agreed by Ana Labor (labor) and Ben Manager (management), 20 October 2026"


async def _published(stack: Stack) -> list[str]:
    return posts_to(stack, "staff") + posts_to(stack, "union-members")


@pytest.mark.both_databases  # storage: approvals, locks, counts
async def test_both_sides_publish_once_to_every_audience_channel(stack: Stack) -> None:
    await stack.import_team(points_team())
    await act(
        stack, "cy", "points draft Class sizes stay at 24 next year | The calendar vote is on 3 November"
    )
    assert "Class sizes stay at 24" in plain(latest_card(stack, "ben"))
    await click(stack, "ana", cards.APPROVE, approve_value(stack, "ana"))
    assert await _published(stack) == []
    for user in ("al", "ben", "cy"):  # the same card, updated in place in every chat it is in
        assert "approved by Ana Labor" in plain(latest_card(stack, user))
    assert any(e.updated and e.target.get("user") == "ben" for e in stack.local.transcript)
    assert any(
        e.updated and e.target.get("address") == "team-channel" and "approved by Ana Labor" in plain(e.card)
        for e in stack.local.transcript
    )
    await click(stack, "ben", cards.APPROVE, approve_value(stack, "ben"))
    staff, union = posts_to(stack, "staff"), posts_to(stack, "union-members")
    assert len(staff) == 1 and len(union) == 1
    for post in (staff[0], union[0]):
        assert LABEL in post
        assert "Class sizes stay at 24 next year" in post and "3 November" in post
    # the card everywhere now says published, in its title too, without buttons
    for user in ("ana", "al", "ben", "cy"):
        card = latest_card(stack, user)
        assert not any(getattr(e, "buttons", None) for e in card.elements), user
        assert plain(card).startswith("Joint talking points, approved by both sides"), plain(card)
    # pressing approve again on a published set: a clear reply, nothing posted again
    await click(stack, "al", cards.APPROVE, _old_value(stack))
    assert "already published" in replies_to(stack, "al")[-1]
    assert len(posts_to(stack, "staff")) == 1


def _old_value(stack: Stack) -> str:
    """The approve value as the first card showed it (still in Al's chat history)."""
    for entry in stack.local.transcript:
        if entry.target.get("user") == "al":
            for element in entry.card.elements:
                for button in getattr(element, "buttons", ()):
                    if button.action_id == cards.APPROVE:
                        return str(button.value)
    raise AssertionError("no approve button was ever shown to al")


async def test_two_labor_co_chairs_are_not_enough(stack: Stack) -> None:
    await stack.import_team(points_team())
    await act(stack, "ana", "points draft We agreed on the new schedule")
    value = approve_value(stack, "ana")
    await click(stack, "ana", cards.APPROVE, value)
    await click(stack, "al", cards.APPROVE, value)
    assert await _published(stack) == []
    assert "management co-chair approves" in replies_to(stack, "al")[-1]
    async with stack.sessions() as session:
        statuses = list((await session.execute(select(TalkingPointSet.status))).scalars())
    assert statuses == ["draft"]


@pytest.mark.both_databases  # storage: approvals, locks, counts
async def test_an_edit_clears_approvals_tells_the_approver_and_the_stale_button_is_refused(
    stack: Stack,
) -> None:
    await stack.import_team(points_team())
    await act(stack, "ana", "points draft First version")
    stale = approve_value(stack, "ana")
    await click(stack, "ana", cards.APPROVE, stale)
    await stack.local.command("ben", "points edit")
    form = stack.local.last_form
    assert form is not None and form.form_id == cards.SUBMIT
    await stack.local.submit("ben", form, {cards.POINTS: "Second version", "ch_0": "yes", "ch_1": "yes"})
    await stack.worker.drain()
    assert any("your approval was cleared" in t for t in dms_to(stack, "ana"))
    async with stack.sessions() as session:
        assert list((await session.execute(select(TalkingPointApproval))).scalars()) == []
    # Ben approves the stale text he saw before the edit: refused, nothing published
    await click(stack, "ben", cards.APPROVE, stale)
    assert "older version" in replies_to(stack, "ben")[-1]
    assert await _published(stack) == []
    # the new text, approved by both, publishes the new text
    fresh = approve_value(stack, "ana")
    assert fresh != stale
    await click(stack, "ana", cards.APPROVE, fresh)
    await click(stack, "ben", cards.APPROVE, fresh)
    staff = posts_to(stack, "staff")
    assert len(staff) == 1 and "Second version" in staff[0] and "First version" not in staff[0]
    async with stack.sessions() as session:
        actions = [e.action for e in await audit.entries(session, 1)]
    for action in ("points.drafted", "points.approved", "points.edited", "points.published"):
        assert action in actions


async def test_bad_approvals_get_a_clear_reply_and_publish_nothing(stack: Stack) -> None:
    await stack.import_team(points_team())
    await act(stack, "cy", "points draft Something to say")
    value = approve_value(stack, "ana")
    await click(stack, "cy", cards.APPROVE, value)  # not a co-chair
    assert "Only a labor or management co-chair" in replies_to(stack, "cy")[-1]
    await click(stack, "ana", cards.APPROVE, value)
    await click(stack, "ana", cards.APPROVE, value)  # the same co-chair twice
    assert "already approved" in replies_to(stack, "ana")[-1]
    await act(stack, "ana", "points withdraw")
    await click(stack, "ben", cards.APPROVE, value)  # on a withdrawn draft
    assert "withdrawn" in replies_to(stack, "ben")[-1]
    assert await _published(stack) == []
    async with stack.sessions() as session:
        approvals = list((await session.execute(select(TalkingPointApproval))).scalars())
    assert [a.name for a in approvals] == ["Ana Labor"]
