"""Where action items meet the rest of Tandem: the meeting reminder lists what is due by the meeting,
`wrapup` posts the meeting's new promises for each owner to confirm with one click, the home view shows
"Your promises", the trust report carries the follow-through line, and `actions stats` the rate."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from flows.core.catalog import Words
from flows.core.home import home_card
from flows.core.types import Card
from flows.pulse.cards import report_card
from flows.pulse.report import build_report
from storage import action_items as store
from storage import roles as role_store
from storage import teams
from tests.actions.test_capture_and_status import _items, _say, _setup, replied
from tests.conftest import Stack
from tests.pulse.test_report import RTSA, _counts

TUESDAY_MEETING = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)  # Tue 1 Dec, 16:00 in Los Angeles


async def test_the_meeting_reminder_lists_what_is_due_and_wrapup_asks_owners_to_confirm(stack: Stack) -> None:
    team_id = await _setup(stack)
    await _say(stack, "cy", 'action "Book the room" due 2026-12-01')
    await _say(stack, "di", 'action "Send the agenda" due 2026-12-10')
    await stack.run_until(TUESDAY_MEETING - timedelta(minutes=30))
    [reminder] = [
        t for t in stack.local.transcript if t.where == "#team-channel" and "Norm of focus" in t.text
    ]
    flat = " ".join(reminder.text.split())
    assert "Promises due by this meeting: #1 Book the room (Tue 1 Dec)" in flat
    assert "Send the agenda" not in flat and "Cy Teacher" not in flat.split("Promises due")[1][:80]

    # during the meeting: a promise is captured (linked to the meeting), and wrapup posts it
    stack.clock.set(TUESDAY_MEETING + timedelta(minutes=50))
    await _say(stack, "ed", 'action "Write to parents" @0 @1 due in 1 week', ["ed", "fay"])
    new = (await _items(stack, team_id))[-1]
    assert new.meeting_local == "2026-12-01T16:00:00"
    async with stack.sessions() as session:
        facilitator = next(
            r.person_id
            for r in await role_store.for_meeting(session, team_id, "2026-12-01T16:00:00")
            if r.role == "facilitator"
        )
        names = {m.person_id: m.name for m in await teams.members(session, team_id)}
    outsider = next(u for u, n in (("cy", "Cy Teacher"), ("di", "Di Principal")) if names[facilitator] != n)
    assert "facilitator or a co-chair" in await _say(stack, outsider, "wrapup")
    assert "1 in all" in await _say(stack, "ben", "wrapup")
    [posted] = [
        t
        for t in stack.local.transcript
        if t.where == "#team-channel" and "PROMISES FROM THIS MEETING" in t.text
    ]
    assert "Write to parents" in posted.text and "Book the room" not in posted.text
    await stack.local.click("fay", "actions.confirm", str(new.id))
    await stack.local.click("cy", "actions.confirm", str(new.id))
    await stack.local.click("fay", "actions.confirm", str(new.id))
    await stack.worker.drain()
    assert "Only the owners" in replied(stack, "cy")
    assert "already confirmed" in replied(stack, "fay")
    [item] = [i for i in await _items(stack, team_id) if i.id == new.id]
    confirmed = {o.name: o.confirmed_at is not None for o in item.owners}
    assert confirmed == {"Ed Board": False, "Fay Parent": True}


async def test_home_shows_your_promises(stack: Stack) -> None:
    team_id = await _setup(stack)
    await _say(stack, "cy", 'action "Book the room" due 2026-12-03')
    await _say(stack, "ana", 'action "Call the union office" @0 due 2026-12-02', ["cy"])
    async with stack.sessions() as session:
        cy = next(m.person_id for m in await teams.members(session, team_id) if m.name == "Cy Teacher")
        ed = next(m.person_id for m in await teams.members(session, team_id) if m.name == "Ed Board")
        mine = await home_card(session, cy, Card.plain("help"), stack.clock.now())
        theirs = await home_card(session, ed, Card.plain("help"), stack.clock.now())
    assert ("Your promises", "2 open · next: Call the union office (due Wed 2 Dec)") in _pairs(mine)
    assert ("Your promises", "none open") in _pairs(theirs)


def _pairs(card: Card) -> list[tuple[str, str]]:
    return [p for e in card.elements for p in getattr(e, "pairs", ())]


def test_the_trust_report_shows_the_follow_through_beside_the_components() -> None:
    report = build_report(
        RTSA,
        respondents=5,
        invited=6,
        min_responses=5,
        counts=_counts(),
        side_counts={None: 5},
        sides_recorded=False,
        side_means=[],
        previous=None,
        targets=None,
        comments=[],
    )
    without = report_card(report, "Team", "today", None, 1, Words())
    assert "promises" not in str(without)
    card = report_card(replace(report, follow_through=(14, 17)), "Team", "today", None, 1, Words())
    texts = [getattr(e, "text", "") for e in card.elements]
    at = texts.index("Follow-through: the team met 14 of 17 promises this quarter.")
    assert type(card.elements[at - 1]).__name__ == "Fields"  # right after the component means


@pytest.mark.both_databases  # the rate's query
async def test_stats_counts_promises_kept_by_their_due_date(stack: Stack) -> None:
    team_id = await _setup(stack)
    for title in ("One", "Two", "Three"):
        await _say(stack, "cy", f'action "{title}" due 2026-12-02')
    await _say(stack, "cy", 'action "Four" due 2026-12-20')  # open and not due yet: not missed
    one, two, three, _ = await _items(stack, team_id)
    await _say(stack, "cy", f"actions done {one.id}")
    stack.clock.set(datetime(2026, 12, 3, 18, 0, tzinfo=UTC))  # the day after the due date
    await _say(stack, "cy", f"actions done {two.id}")
    await _say(stack, "cy", f"actions drop {three.id} no longer needed")
    reply = " ".join((await _say(stack, "cy", "actions stats")).split())
    assert "met 1 of the 2 promises due so far by their due date; 1 done late; 1 dropped" in reply
    assert "1 more open and due later this quarter" in reply
    async with stack.sessions() as session:
        rate = await store.follow_through(session, team_id, one.due, "America/Los_Angeles")
    assert (rate.met, rate.due, rate.late, rate.dropped) == (1, 2, 1, 1)
