"""Meeting roles rotate fairly; a pass hands the role on and is recorded."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from flows.meetings.rotation import PastAssignment, assign_roles, next_after_pass
from storage import audit, roles, schedules
from storage.models import Schedule
from tests.conftest import Stack, team_spec

ROLES = ["facilitator", "note_taker", "timekeeper"]


def _fair_so_far(history: list[PastAssignment], members: list[int]) -> None:
    """Nobody holds a role for the (k+1)th time while someone has held it fewer than k times."""
    for role in ROLES:
        counts = Counter({m: 0 for m in members})
        for past in history:
            if past.role == role and not past.passed:
                counts[past.person_id] += 1
                assert counts[past.person_id] - min(counts.values()) <= 1, (role, dict(counts))


@pytest.mark.parametrize("size", [1, 2, 3, 4, 7, 12])
def test_everyone_holds_each_role_before_anyone_repeats(size: int) -> None:
    members = list(range(100, 100 + size))
    history: list[PastAssignment] = []
    for _meeting in range(size * 3):
        assignment = assign_roles(ROLES, members, history)
        assert set(assignment) == set(ROLES)
        if size >= 3:
            assert len(set(assignment.values())) == 3, "distinct people when the team is big enough"
        history += [PastAssignment(role, person, False) for role, person in assignment.items()]
        _fair_so_far(history, members)
    for role in ROLES:
        held = Counter(p.person_id for p in history if p.role == role)
        assert set(held) == set(members)
        assert max(held.values()) - min(held.values()) <= 1


def test_a_pass_goes_to_the_next_fair_person_and_the_passer_comes_back_first() -> None:
    members = [1, 2, 3, 4, 5]
    history: list[PastAssignment] = []
    first = assign_roles(ROLES, members, history)
    facilitator = first["facilitator"]
    busy = [p for r, p in first.items() if r != "facilitator"]
    successor = next_after_pass("facilitator", members, history, passed_by=[facilitator], busy=busy)
    assert successor not in (facilitator, *busy)
    history += [
        PastAssignment("facilitator", facilitator, True),
        PastAssignment("facilitator", successor, False),
    ]
    history += [PastAssignment(r, p, False) for r, p in first.items() if r != "facilitator"]
    second = assign_roles(ROLES, members, history)
    assert second["facilitator"] == facilitator


async def test_roles_rotate_over_meetings_through_the_engine(stack: Stack) -> None:
    stack.clock.set(datetime(2026, 9, 1, 12, 0, tzinfo=UTC))
    team = await stack.import_team(team_spec())
    meetings = 6  # six members, three roles: everyone facilitates once in six meetings
    for _ in range(meetings):
        async with stack.sessions() as session:
            due = (await schedules.for_team(session, team.id, "meeting"))[0].next_fire_at
        assert due is not None
        await stack.run_until(due)
    async with stack.sessions() as session:
        rows = await roles.history(session, team.id)
    assert len(rows) == meetings * 3
    for role in ROLES:
        assert len({r.person_id for r in rows if r.role == role}) == 6
    posts = [e for e in stack.local.transcript if e.target.get("address") == "team-channel"]
    assert len(posts) == meetings
    focus = [next(line for line in e.text.splitlines() if line.startswith("Norm of focus")) for e in posts]
    assert len(set(focus)) == meetings  # the norm of focus moves on every meeting


async def test_a_member_passes_from_chat_and_it_is_recorded(stack: Stack) -> None:
    stack.clock.set(datetime(2026, 9, 1, 12, 0, tzinfo=UTC))
    team = await stack.import_team(team_spec())
    async with stack.sessions() as session:
        schedule: Schedule = (await schedules.for_team(session, team.id, "meeting"))[0]
    assert schedule.next_fire_at is not None
    await stack.run_until(schedule.next_fire_at)
    async with stack.sessions() as session:
        before = await roles.for_meeting(session, team.id, "2026-09-01T16:00:00")
    note_taker = next(r for r in before if r.role == "note_taker")
    user = {1: "ana", 2: "ben", 3: "cy", 4: "di", 5: "ed", 6: "fay"}[note_taker.person_id]
    # The button on the channel card, clicked twice (a double click): one pass.
    await stack.local.click(user, "norms.pass", "2026-09-01T16:00:00", channel="team-channel", key="click-1")
    await stack.local.click(user, "norms.pass", "2026-09-01T16:00:00", channel="team-channel", key="click-1")
    await stack.worker.drain()
    async with stack.sessions() as session:
        after = await roles.for_meeting(session, team.id, "2026-09-01T16:00:00")
        log = await audit.entries(session, team.id)
    note_rows = [r for r in after if r.role == "note_taker"]
    assert [r.passed for r in note_rows] == [True, False]
    new_holder = note_rows[1].person_id
    assert new_holder not in {r.person_id for r in after if r.role != "note_taker"}
    assert [e.action for e in log].count("roles.passed") == 1
    update = [e for e in stack.local.transcript if "Roles update" in e.text]
    assert len(update) == 1 and "passed note-taker" in update[0].text
    # The reminder card itself was updated in place (same message reference), showing the new holder.
    original = next(e for e in stack.local.transcript if "Norm of focus" in e.text and not e.updated)
    replaced = [e for e in stack.local.transcript if e.updated]
    assert [e.ref for e in replaced] == [original.ref]
    new_name = {
        1: "Ana Labor",
        2: "Ben Manager",
        3: "Cy Teacher",
        4: "Di Principal",
        5: "Ed Board",
        6: "Fay Parent",
    }
    assert f"Note-taker   {new_name[new_holder]}" in replaced[0].text
    assert replaced[0].text.index("Facilitator") < replaced[0].text.index("Note-taker")
    reply = stack.local.transcript[-1]
    assert reply.target.get("private_to") == user and "passed" in reply.text


async def test_someone_without_a_role_is_told_so(stack: Stack) -> None:
    stack.clock.set(datetime(2026, 9, 1, 12, 0, tzinfo=UTC))
    team = await stack.import_team(team_spec())
    async with stack.sessions() as session:
        due = (await schedules.for_team(session, team.id, "meeting"))[0].next_fire_at
    assert due is not None
    await stack.run_until(due)
    async with stack.sessions() as session:
        holders = {r.person_id for r in await roles.for_meeting(session, team.id, "2026-09-01T16:00:00")}
    free_user = next(
        u
        for pid, u in {1: "ana", 2: "ben", 3: "cy", 4: "di", 5: "ed", 6: "fay"}.items()
        if pid not in holders
    )
    await stack.local.command(free_user, "pass")
    await stack.worker.drain()
    assert "don't hold a role" in stack.local.transcript[-1].text
