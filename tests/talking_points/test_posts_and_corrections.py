"""One-side updates never say "joint" in any rendered form; corrections are a new, approved version posted
as a correction of the original with the change shown; history keeps every published set."""

from __future__ import annotations

import json
from datetime import timedelta

from adapters.local.render import render_text
from adapters.slack.render import message
from adapters.teams.cards import render_card
from flows.talking_points import cards
from tests.conftest import Stack
from tests.talking_points.conftest import act, approve_value, click, points_team, posts_to, replies_to


def _all_renderings(stack: Stack, address: str) -> list[str]:
    """Each post to `address` as Slack Block Kit, a Teams Adaptive Card and the local text."""
    found = []
    for entry in stack.local.transcript:
        if entry.target.get("address") == address:
            found += [
                json.dumps(message(entry.card)),
                json.dumps(render_card(entry.card)),
                render_text(entry.card),
            ]
            found.append(entry.card.summary)
    return found


async def test_one_side_updates_are_labelled_and_never_joint(stack: Stack) -> None:
    await stack.import_team(points_team())
    await act(stack, "al", "points union We will hold a members' meeting on Thursday | Bring your questions")
    await act(stack, "ben", "points management The district budget workshop is on 12 November")
    staff = posts_to(stack, "staff")
    assert len(staff) == 2
    assert staff[0].startswith("From the union co-chair(s)") and "members' meeting" in staff[0]
    assert staff[1].startswith("From management") and "budget workshop" in staff[1]
    renderings = _all_renderings(stack, "staff") + _all_renderings(stack, "union-members")
    assert len(renderings) == 16
    for rendered in renderings:
        assert "joint" not in rendered.lower()
    # the wrong side, a plain member, and a text that calls itself joint: refused, nothing posted
    await act(stack, "ben", "points union Something")
    assert "Only a labor co-chair" in replies_to(stack, "ben")[-1]
    await act(stack, "cy", "points union Something")
    assert "Only a labor co-chair" in replies_to(stack, "cy")[-1]
    await act(stack, "ana", "points union This is our joint position")
    assert "can't call itself joint" in replies_to(stack, "ana")[-1]
    assert len(posts_to(stack, "staff")) == 2


async def _publish(stack: Stack, text: str) -> None:
    await act(stack, "ana", f"points draft {text}")
    await click(stack, "ana", cards.APPROVE, approve_value(stack, "ana"))
    await click(stack, "ben", cards.APPROVE, approve_value(stack, "ben"))


async def test_a_correction_needs_both_sides_and_references_the_original(stack: Stack) -> None:
    await stack.import_team(points_team())
    await _publish(stack, "The vote is on 3 November | Class sizes stay at 24")
    stack.clock.advance(timedelta(days=2))
    await stack.local.command("ben", "points correct")
    form = stack.local.last_form
    assert form is not None and form.metadata.startswith("correct:")
    await stack.local.submit(
        "ben",
        form,
        {cards.POINTS: "The vote is on 10 November\nClass sizes stay at 24", "ch_0": "yes", "ch_1": "yes"},
    )
    await stack.worker.drain()
    await click(stack, "ben", cards.APPROVE, approve_value(stack, "ben"))
    assert len(posts_to(stack, "staff")) == 1  # one side is not enough for a correction either
    await click(stack, "al", cards.APPROVE, approve_value(stack, "al"))
    staff = posts_to(stack, "staff")
    assert len(staff) == 2
    correction = staff[1]
    assert correction.startswith("Correction to the talking points of 20 October 2026")
    assert "Removed: The vote is on 3 November" in correction
    assert "Added: The vote is on 10 November" in correction
    assert "agreed by Al Union (labor) and Ben Manager (management), 22 October 2026" in correction
    await act(stack, "cy", "points history")
    history = replies_to(stack, "cy")[-1]
    assert (
        "joint, agreed by Al Union (labor), Ben Manager (management) (correction to 20 October 2026)"
        in history
    )
    assert "joint, agreed by Ana Labor (labor), Ben Manager (management)" in history
    assert "The vote is on 3 November" in history  # the original is kept, never edited
