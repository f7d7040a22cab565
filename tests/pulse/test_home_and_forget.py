"""The home view follows a poll (open, one person's submit, close), and after close no outbox row says who
received a receipt, a reminder or an "already answered" note."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete

from flows.core.home import home_card
from flows.pulse.lifecycle import FORGET_KIND
from storage import outbox, pulse, schedules, teams
from storage.models import OutboxMessage
from tests.conftest import Stack
from tests.pulse.conftest import all_items, answer, big_team, current_poll

pytestmark = pytest.mark.both_databases  # a storage behaviour: on PostgreSQL as well (tests/conftest.py)

START = datetime(2026, 10, 5, 16, 0, tzinfo=UTC)  # Monday 9 AM Pacific


async def _take_home_rows(stack: Stack) -> list[str]:
    """The Slack users whose home refresh was queued since the last call (then clear them)."""
    async with stack.sessions() as session:
        rows = [r for r in await outbox.messages(session) if r.target.get("home")]
        await session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_([r.id for r in rows])))
        await session.commit()
    return sorted(r.target["user"] for r in rows)


async def test_homes_are_refreshed_at_open_for_a_submitter_and_at_close(stack: Stack) -> None:
    stack.clock.set(START)
    spec = big_team()
    spec["members"][3]["slack"] = "U0L3"  # Labor 3 and Manager 2 are also on Slack (a home view)
    spec["members"][8]["slack"] = "U0M2"
    team = await stack.import_team(spec)
    await _take_home_rows(stack)
    await stack.local.command("l0", "pulse start")
    assert await _take_home_rows(stack) == ["U0L3", "U0M2"]
    poll = await current_poll(stack, team.id)
    await answer(stack, "l3", poll.id, all_items(4))
    assert await _take_home_rows(stack) == ["U0L3"]  # only the person whose own line changed
    async with stack.sessions() as session:
        l3 = await teams.person_by_identity(session, "slack", "U0L3")
        assert l3 is not None
        card = await home_card(session, l3.id, stack.engine.help_card("/tandem "), stack.clock.now())
    pairs = dict(next(e for e in card.elements if hasattr(e, "pairs")).pairs)  # type: ignore[attr-defined]
    assert pairs["Trust poll"].endswith("you've answered")
    for user in ("l1", "l2", "m1", "m3"):
        await answer(stack, user, poll.id, all_items(4))
    await _take_home_rows(stack)  # (local-only members: nothing queued for them)
    await stack.local.command("m0", "pulse close")
    await stack.worker.drain()
    assert await _take_home_rows(stack) == ["U0L3", "U0M2"]


async def test_after_close_no_outbox_row_links_a_person_to_a_receipt(stack: Stack) -> None:
    stack.clock.set(START)
    team = await stack.import_team(big_team())
    await stack.local.command("l0", "pulse start")
    await stack.worker.drain()
    poll = await current_poll(stack, team.id)
    respondents = ["l1", "l2", "l3", "l4", "l5"]
    for user in respondents:
        await answer(stack, user, poll.id, all_items(4))
    change = next(  # l1 changes their answers with the receipt
        b.value
        for e in reversed(stack.local.transcript)
        if e.target.get("user") == "l5"
        for el in e.card.elements
        if el.type == "buttons"
        for b in el.buttons
        if b.action_id == "pulse.change"
    )
    await stack.local.click("l5", "pulse.change", change)
    assert stack.local.last_form is not None
    await stack.local.submit("l5", stack.local.last_form, all_items(5))
    await stack.local.click("l2", "pulse.answer", str(poll.id))  # "you've already answered"
    await stack.worker.drain()
    async with stack.sessions() as session:  # while open, the receipts are in the outbox (payloads erased)
        keys = [r.message_key or "" for r in await outbox.messages(session)]
    assert sum(":private:receipt:" in k for k in keys) >= 6

    day = START
    while day < poll.closes_at:  # reminders on days 3 and 5, the close on day 7
        day += timedelta(days=1)
        await stack.run_until(day + timedelta(minutes=1))
    assert any("can no longer change" in e.text and e.updated for e in stack.local.transcript)
    async with stack.sessions() as session:
        assert (await schedules.for_team(session, team.id, FORGET_KIND))[0].enabled
    await stack.run_until(poll.closes_at + timedelta(hours=2))

    async with stack.sessions() as session:
        rows = await outbox.messages(session)
        closed = await pulse.poll_by_id(session, poll.id)
        assert closed is not None and closed.status == pulse.RELEASED
        assert not (await schedules.for_team(session, team.id, FORGET_KIND))[0].enabled
    assert not [r for r in rows if ":private:" in (r.message_key or "")]
    texts = [str(r.payload or "") for r in rows]
    assert not [t for t in texts if "receipt" in t.lower() or "already answered" in t or "reminder" in t]
    # What remains addressed to people is the same for everyone who is not a co-chair: the invitation.
    per_user = Counter(r.target["user"] for r in rows if r.target.get("user") and not r.target.get("home"))
    ordinary = [f"l{i}" for i in range(1, 6)] + [f"m{i}" for i in range(1, 6)]
    assert len({per_user[u] for u in ordinary}) == 1, per_user
