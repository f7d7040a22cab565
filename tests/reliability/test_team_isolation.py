"""Team isolation: a member (and co-chair) of team A reaches nothing of team B through any command (typed in
their DM, A's channel, or B's channel), any of B's buttons, B's poll form, or the export of A's data. Team B
runs a whole trust poll meanwhile; after A's attempts, B's stored state is exactly what it was and nothing
A's member was shown names B, its people, its channel or its poll. B's state is its poll, its schedules,
the messages filed under it, and every row of every table with B's team_id (action items, talking points,
decisions, check-ins, calendar, members, channels)."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.actions_export import export_actions
from bot.checkins_export import export_checkins
from bot.points_export import export_talking_points
from bot.pulse_export import export_pulse
from flows.core.types import Buttons, Question
from storage.models import OutboxMessage, Schedule
from storage.pulse_models import PulseAnswer, PulsePoll, PulseSealed
from storage.schema import Base
from tests.conftest import Stack, team_spec
from tests.pulse.conftest import all_items, answer, big_team, current_poll
from tests.reliability.conftest import Figure

# the rule is the engine's; PostgreSQL too at full size
pytestmark = [
    pytest.mark.slow,
    *([pytest.mark.both_databases] if os.environ.get("TANDEM_RELIABILITY_FULL") else []),
]
B_WORDS = ("Bravo", "chan-b", "#bravo", "b-l", "b-m")
COMMANDS = [
    "help", "team", "norms", "roles", "pass", "setup", "pulse", "pulse status", "pulse results",
    "pulse close", "pulse start", "pulse target 90", "pulse threshold 3", "pulse schedule",
    "pulse start team", "pulse results 1", "pulse results 2", "pulse close 1", "team Bravo Secret Team",
    "roles @0", "pass @0",
]  # fmt: skip


def _team_b() -> dict[str, Any]:
    spec = big_team(labor=4, management=4, name="Bravo Secret Team")
    spec["channels"] = [{"platform": "local", "id": "chan-b", "name": "#bravo"}]
    for member in spec["members"]:
        member["local"] = f"b-{member['local']}"
        member["name"] = f"Bravo {member['name']}"
    return spec


async def _b_state(stack: Stack, team_id: int) -> dict[str, Any]:
    async with stack.sessions() as session:
        polls = (await session.execute(select(PulsePoll).where(PulsePoll.team_id == team_id))).scalars()
        poll_state = sorted((p.id, p.status, p.respondents, p.min_responses, p.closes_at) for p in polls)
        ids = [p[0] for p in poll_state]
        counts = {
            name: int((await session.execute(select(func.count()).where(column.in_(ids)))).scalar_one())
            for name, column in (("answers", PulseAnswer.poll_id), ("sealed", PulseSealed.poll_id))
        }
        schedules = sorted(
            (s.kind, s.rrule, s.enabled, s.settings.__repr__())
            for s in (await session.execute(select(Schedule).where(Schedule.team_id == team_id))).scalars()
        )
        outbox = int(
            (await session.execute(select(func.count()).where(OutboxMessage.team_id == team_id))).scalar_one()
        )
        # and every row of every table that belongs to B by its team_id (action items, talking points,
        # decisions, check-ins, calendar, memberships, channels, …), as stored
        rows = {}
        for table in Base.metadata.sorted_tables:
            column = table.columns.get("team_id")
            ours = column is not None and any(k.column.table.name == "teams" for k in column.foreign_keys)
            if ours and table.name != "outbox":  # (slack_workspaces.team_id is Slack's, a string)
                found = (await session.execute(select(table).where(table.c.team_id == team_id))).all()
                rows[table.name] = sorted(repr(tuple(r)) for r in found)
    return {"polls": poll_state, **counts, "schedules": schedules, "outbox": outbox, "rows": rows}


def _presses(stack: Stack, people: set[str]) -> set[tuple[str, str]]:
    """Every (action id, value) on a card B's people or channel were shown."""
    found: set[tuple[str, str]] = set()
    for entry in stack.local.transcript:
        target = entry.target
        if str(target.get("user") or target.get("address") or "").removeprefix("dm-") not in people:
            continue
        for element in entry.card.elements:
            if isinstance(element, Buttons):
                found.update((b.action_id, b.value) for b in element.buttons)
            elif isinstance(element, Question):
                found.update((element.action_id or element.id, c.value) for c in element.choices)
    return found


def _seen_by_ana(stack: Stack, since: int) -> list[str]:
    texts = []
    for entry in stack.local.transcript[since:]:
        target = entry.target
        if "ana" in (
            target.get("user"),
            target.get("private_to"),
            str(target.get("address", "")).removeprefix("dm-"),
        ):
            texts.append(entry.text)
    return texts


async def test_a_member_of_team_a_reaches_nothing_of_team_b(stack: Stack, figure: Figure) -> None:
    alpha = await stack.import_team(team_spec(name="Alpha Team"))
    bravo = await stack.import_team(_team_b())
    b_people = {m["local"] for m in _team_b()["members"]} | {"chan-b"}
    await stack.local.command("b-l0", "pulse start", channel="chan-b")
    await stack.worker.drain()
    poll = await current_poll(stack, bravo.id)
    for user in ("b-l0", "b-l1", "b-m0", "b-m1", "b-l2"):
        await answer(stack, user, poll.id, all_items(5))
    b_form = stack.local.forms[("b-l2", "pulse.submit")]
    # B's co-chair records an action item in B's channel (its title names B: a leak would show)
    await stack.local.command("b-l0", 'action "Bravo secret task" @0 due friday', "chan-b", ["b-l1"])
    # and a draft of talking points, approved by one side, whose card (with its buttons) B's people see
    await stack.local.command("b-l1", "points draft Bravo secret point | Another Bravo point", "chan-b")
    await stack.worker.drain()
    approve = next((a, v) for a, v in _presses(stack, {"b-l0"}) if a.startswith("points.") and "approve" in a)
    await stack.local.click("b-l0", *approve)
    await stack.worker.drain()
    before = await _b_state(stack, bravo.id)
    mark = len(stack.local.transcript)

    # B's poll form and its invitation button, by A's co-chair
    await stack.local.click("ana", "pulse.answer", str(poll.id))
    assert stack.local.last_form is None
    await stack.local.submit("ana", b_form, all_items(1))
    await stack.local.submit("ana", "pulse.submit", all_items(1), metadata=b_form.metadata)
    await stack.worker.drain()
    assert await _b_state(stack, bravo.id) == before

    # B closes and releases its poll; then every command A's co-chair can type, wherever, and every button
    # B was shown, pressed by A's co-chair in her DM and in B's channel
    await stack.local.command("b-l0", "pulse close", channel="chan-b")
    await stack.local.command("b-m0", "pulse close", channel="chan-b")
    await stack.worker.drain()
    before = await _b_state(stack, bravo.id)
    assert any(p[1] != "open" for p in before["polls"]), before
    words = sorted(stack.engine._commands)  # every flow's command, with the verbs and numbers they take
    typed = COMMANDS + [
        f"{w}{tail}" for w in words for tail in ("", " mine", " history", " 1", " done 1", " 2")
    ]
    for command in typed:
        for where in (None, "team-channel", "chan-b"):
            mentions = ["b-l1"] if "@0" in command else []
            await stack.local.command("ana", command, channel=where, mentions=mentions)
    await stack.worker.drain()  # every reply delivered (to the transcript) once, not one by one
    presses = _presses(stack, b_people)
    assert ("pulse.answer", str(poll.id)) in presses
    # and every button any flow declares, aimed at B's poll (a forged press: what a platform would carry)
    presses |= {
        (action_id, value)
        for action_id in stack.engine._actions._handlers
        for value in (str(poll.id), "1", "2", "3")
    }
    for action_id, value in sorted(presses):
        for where in (None, "chan-b"):
            await stack.local.click("ana", action_id, value, channel=where)
            if stack.local.last_form is not None:  # a form for A's own business only
                assert not any(w in repr(stack.local.last_form) for w in B_WORDS)
    await stack.worker.drain()

    after = await _b_state(stack, bravo.id)
    assert after == before
    seen = _seen_by_ana(stack, mark)
    assert seen, "ana's commands got replies"
    leaked = [t for t in seen if any(w in t for w in B_WORDS)]
    assert leaked == []
    b_messages_after = [
        e
        for e in stack.local.transcript[mark:]
        if str(e.target.get("user") or e.target.get("address") or "").removeprefix("dm-") in b_people
        and e.target.get("private_to") in (None, *b_people)
    ]
    # what B's people got after `mark` came from B's own close, never from A's member
    assert all("Alpha" not in e.text and "Ana Labor" not in e.text for e in b_messages_after)
    for exporter in (export_actions, export_talking_points, export_checkins):  # A's other exports
        exported = await exporter(stack.sessions, "Alpha Team", "json")
        assert not any(w in exported for w in B_WORDS)
    assert "Bravo secret task" in await export_actions(stack.sessions, "Bravo Secret Team", "json")
    alpha_export = json.loads(await export_pulse(stack.sessions, "Alpha Team", "json"))["rows"]
    assert not any(w in json.dumps(alpha_export) for w in B_WORDS)
    bravo_export = json.loads(await export_pulse(stack.sessions, "Bravo Secret Team", "json"))["rows"]
    assert bravo_export, "B's released poll is in B's export"
    assert not [r for r in bravo_export if r in alpha_export]
    assert alpha.id != bravo.id
    figure("commands tried (x3 places)", len(typed))
    figure("B's buttons pressed (x2 places)", len(presses))
    figure("replies A's member saw", len(seen))
