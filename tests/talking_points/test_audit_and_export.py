"""Every draft, edit, approval, withdrawal, publish and correction is in the audit log with who and when;
co-chairs see it in chat, members don't; `tandem export talking-points` carries sets, approvals, decisions
and the trail. The facilitator of the latest meeting may edit a draft."""

from __future__ import annotations

import csv
import io
import json

import pytest

from bot.points_export import ExportError, export_talking_points
from flows.talking_points import cards
from storage import roles, teams
from tests.conftest import Stack
from tests.talking_points.conftest import act, approve_value, click, points_team, posts_to, replies_to

TEAM = "Test Solutions Team"


@pytest.mark.both_databases  # storage: approvals, locks, counts
async def test_the_trail_in_chat_for_co_chairs_and_in_the_export(stack: Stack) -> None:
    await stack.import_team(points_team())
    await act(stack, "cy", "points draft First")
    await click(stack, "ana", cards.APPROVE, approve_value(stack, "ana"))
    await act(stack, "ben", "points withdraw")
    await act(stack, "cy", "points draft Second")
    await click(stack, "al", cards.APPROVE, approve_value(stack, "al"))
    await click(stack, "ben", cards.APPROVE, approve_value(stack, "ben"))
    assert len(posts_to(stack, "staff")) == 1

    await act(stack, "cy", "points audit")
    assert "Only co-chairs see the talking points audit" in replies_to(stack, "cy")[-1]
    await act(stack, "ana", "points audit")
    trail = replies_to(stack, "ana")[-1]
    for line in (
        "Cy Teacher · points.drafted 1",
        "Ana Labor · points.approved 1",
        "Ben Manager · points.withdrawn 1",
        "Al Union · points.approved 2",
        "Ben Manager · points.published 2",
    ):
        assert line in trail
    assert "2026-10-20 09:00 PDT" in trail  # when, in the team's zone

    data = json.loads(await export_talking_points(stack.sessions, TEAM, "json"))
    statuses = [(s["id"], s["status"]) for s in data["talking_points"]]
    assert statuses == [(1, "withdrawn"), (2, "published")]
    published = data["talking_points"][1]
    assert {(a["name"], a["side"]) for a in published["approvals"]} == {
        ("Al Union", "labor"),
        ("Ben Manager", "management"),
    }
    assert [e["action"] for e in data["audit"]] == [
        "points.drafted",
        "points.approved",
        "points.withdrawn",
        "points.drafted",
        "points.approved",
        "points.approved",
        "points.published",
    ]
    rows = list(csv.DictReader(io.StringIO(await export_talking_points(stack.sessions, TEAM, "csv"))))
    assert [r["who"] for r in rows][-1] == "Ben Manager" and rows[-1]["action"] == "points.published"
    with pytest.raises(ExportError):
        await export_talking_points(stack.sessions, "No Such Team", "json")


async def test_the_facilitator_may_edit(stack: Stack) -> None:
    team = await stack.import_team(points_team())
    async with stack.sessions() as session, session.begin():
        di = await teams.person_by_identity(session, "local", "di")
        assert di is not None
        await roles.assign(session, team.id, "2026-10-20T16:00:00", "facilitator", di.id, stack.clock.now())
    await act(stack, "cy", "points draft Draft text")
    await stack.local.command("di", "points edit")
    form = stack.local.last_form
    assert form is not None and form.metadata.startswith("edit:")
    await stack.local.submit(
        "di", form, {cards.POINTS: "Edited by the facilitator", "ch_0": "yes", "ch_1": "no"}
    )
    await stack.worker.drain()
    assert "Saved" in replies_to(stack, "di")[-1]
    await click(stack, "ana", cards.APPROVE, approve_value(stack, "ana"))
    await click(stack, "ben", cards.APPROVE, approve_value(stack, "ben"))
    assert ["Edited by the facilitator" in p for p in posts_to(stack, "staff")] == [True]
    assert posts_to(stack, "union-members") == []  # the audience the facilitator chose
