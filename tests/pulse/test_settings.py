"""Thresholds need parity to go down, targets carry to the next report, the quarterly schedule is DST-safe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage import pulse, schedules
from tests.conftest import Stack
from tests.pulse.conftest import all_items, answer, big_team, current_poll

START = datetime(2026, 10, 5, 16, 0, tzinfo=UTC)


async def _say(stack: Stack, user: str, text: str) -> str:
    await stack.local.command(user, text)
    await stack.worker.drain()
    return stack.local.transcript[-1].text.replace("\n", " ")


async def test_lowering_the_threshold_needs_both_sides_raising_needs_one(stack: Stack) -> None:
    stack.clock.set(START)
    await stack.import_team(big_team())
    assert "Only a co-chair" in await _say(stack, "l1", "pulse threshold 3")
    assert "never be below 3" in await _say(stack, "l0", "pulse threshold 2")
    assert "needs one co-chair from each side" in await _say(stack, "l0", "pulse threshold 3")
    proposal = [
        e for e in stack.local.transcript if e.target.get("user") == "m0" and "proposes lowering" in e.text
    ]
    assert len(proposal) == 1
    assert "at least 5 answers" in await _say(stack, "l1", "pulse threshold")
    assert "needs one co-chair from each side" in await _say(
        stack, "l0", "pulse threshold 3"
    )  # same side again
    assert "at least 5 answers" in await _say(stack, "l1", "pulse threshold")
    assert "Agreed by both sides" in await _say(stack, "m0", "pulse threshold 3")
    assert "at least 3 answers" in await _say(stack, "l1", "pulse threshold")
    assert "now need at least 6" in await _say(stack, "m0", "pulse threshold 6")  # raising: one co-chair
    assert "at least 6 answers" in await _say(stack, "l1", "pulse threshold")


async def _run_poll(stack: Stack, team_id: int, users: list[str], value: int) -> None:
    await stack.local.command("l0", "pulse start")
    await stack.worker.drain()
    poll = await current_poll(stack, team_id)
    for user in users:
        await answer(stack, user, poll.id, {**all_items(4), "respect.disagreement": str(value)})
    await stack.local.command("m0", "pulse close")
    await stack.worker.drain()


async def test_targets_are_carried_to_the_next_report(stack: Stack) -> None:
    stack.clock.set(START)
    team = await stack.import_team(big_team())
    users = ["l1", "l2", "l3", "m1", "m2"]
    await _run_poll(stack, team.id, users, 2)
    assert "Only a co-chair" in await _say(stack, "l1", "pulse target respect We will listen")
    reply = await _say(
        stack, "m0", "pulse target respect We will work on improving how we handle disagreements."
    )
    assert "Target set for Mutual Respect" in reply
    stack.clock.set(START + timedelta(days=90))
    await _run_poll(stack, team.id, users, 5)
    report = [e.text for e in stack.local.transcript if e.where == "#team-channel" and "— results" in e.text][
        -1
    ]
    flat = report.replace("\n", " ")
    assert (
        "Our target for Mutual Respect: We will work on improving how we handle disagreements. "
        "— change: +1.00" in flat
    )
    assert "since last time" in flat
    assert "pulse target" in await _say(stack, "l0", "pulse target nonsense")


async def test_the_quarterly_schedule_keeps_9am_local_across_dst(stack: Stack) -> None:
    stack.clock.set(datetime(2026, 7, 1, 16, 0, tzinfo=UTC))
    team = await stack.import_team(big_team())
    assert "every quarter" in await _say(stack, "m0", "pulse schedule 2026-08-03")
    async with stack.sessions() as session:
        (schedule,) = await schedules.for_team(session, team.id, "pulse.quarterly")
    assert schedule.next_fire_at == datetime(2026, 8, 3, 16, 0, tzinfo=UTC)  # 9 AM PDT
    await stack.run_until(datetime(2026, 8, 3, 16, 0, tzinfo=UTC))
    first = await current_poll(stack, team.id)
    assert first.opened_local == "2026-08-03T09:00:00"
    await stack.run_until(first.closes_at + timedelta(minutes=1))  # coalesced catch-up closes it
    async with stack.sessions() as session:
        closed = await pulse.poll_by_id(session, first.id)
        (schedule,) = await schedules.for_team(session, team.id, "pulse.quarterly")
    assert closed is not None and closed.status == "withheld"
    # the first Monday of November (same weekday of the month), 9 AM PST, the day after the change
    assert schedule.next_fire_at == datetime(2026, 11, 2, 17, 0, tzinfo=UTC)
    await stack.run_until(datetime(2026, 11, 2, 17, 0, tzinfo=UTC))
    second = await current_poll(stack, team.id)
    assert second.opened_local == "2026-11-02T09:00:00" and second.id != first.id
    assert "Only a co-chair" in await _say(stack, "l2", "pulse schedule off")
    assert "off" in await _say(stack, "l0", "pulse schedule off")
