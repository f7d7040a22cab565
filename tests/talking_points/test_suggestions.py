"""Done action items since the last published joint talking points are offered in the draft form, and
added as points when the proposer says so."""

from __future__ import annotations

from datetime import date, timedelta

from flows.core.types import Context
from flows.talking_points import cards
from storage import action_items, teams
from tests.conftest import Stack
from tests.talking_points.conftest import act, approve_value, click, latest_card, plain, points_team


async def _done(stack: Stack, team_id: int, title: str) -> None:
    async with stack.sessions() as session, session.begin():
        cy = await teams.person_by_identity(session, "local", "cy")
        assert cy is not None
        now = stack.clock.now()
        item = await action_items.create_item(
            session, team_id=team_id, title=title, due=date(2026, 11, 1), owners=[cy.id], by=cy.id, now=now
        )
        await action_items.set_status(session, item, action_items.DONE, by=cy.id, now=now, note="done")


async def test_done_items_since_the_last_published_set_are_offered(stack: Stack) -> None:
    team = await stack.import_team(points_team())
    await _done(stack, team.id, "Survey the staff about the schedule")
    stack.clock.advance(timedelta(hours=1))
    await act(stack, "ana", "points draft The schedule survey is done")
    await click(stack, "ana", cards.APPROVE, approve_value(stack, "ana"))
    await click(stack, "ben", cards.APPROVE, approve_value(stack, "ben"))
    stack.clock.advance(timedelta(hours=1))
    await _done(stack, team.id, "Order the new reading books")
    await stack.local.command("cy", "points draft")
    form = stack.local.last_form
    assert form is not None
    offered = " ".join(e.text for e in form.elements if isinstance(e, Context))
    assert "Done: Order the new reading books (Cy Teacher)" in offered
    assert "Survey the staff" not in offered  # done before the last published set
    await stack.local.submit(
        "cy", form, {cards.POINTS: "Our own point", cards.INCLUDE_DONE: "yes", "ch_0": "yes", "ch_1": "yes"}
    )
    await stack.worker.drain()
    card = plain(latest_card(stack, "ben"))
    assert "• Our own point" in card and "• Done: Order the new reading books (Cy Teacher)" in card
