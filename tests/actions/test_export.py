"""`tandem export actions`: every item with its history, as JSON and as CSV (one row per change)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from bot.actions_export import export_actions
from bot.cli import main
from bot.pulse_export import ExportError
from tests.actions.test_capture_and_status import _items, _say, _setup
from tests.conftest import Stack


async def test_export_carries_every_item_and_its_history(stack: Stack) -> None:
    team_id = await _setup(stack)
    await _say(stack, "ana", 'action "Draft the survey to staff" @0 @1 due 2026-12-04', ["cy", "di"])
    [item] = await _items(stack, team_id)
    await _say(stack, "di", f"actions done {item.id} sent to 60 staff")
    data = json.loads(await export_actions(stack.sessions, "Test Solutions Team", "json"))
    [exported] = data["items"]
    assert exported["title"] == "Draft the survey to staff" and exported["owners"] == [
        "Cy Teacher",
        "Di Principal",
    ]
    assert (exported["status"], exported["outcome"]) == ("done", "sent to 60 staff")
    assert [(h["who"], h["what"]) for h in exported["history"]] == [
        ("Ana Labor", "created"),
        ("Di Principal", "done"),
    ]
    rows = list(
        csv.DictReader(io.StringIO(await export_actions(stack.sessions, "Test Solutions Team", "csv")))
    )
    assert [(r["item"], r["what"], r["who"], r["owners"]) for r in rows] == [
        (str(item.id), "created", "Ana Labor", "Cy Teacher; Di Principal"),
        (str(item.id), "done", "Di Principal", "Cy Teacher; Di Principal"),
    ]
    for bad in (("Nobody", "csv"), ("Test Solutions Team", "xml")):
        with pytest.raises(ExportError):
            await export_actions(stack.sessions, *bad)


def test_the_cli_names_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["export", "actions", "--help"])
    assert "--team" in capsys.readouterr().out


async def test_done_since_offers_the_promises_kept_for_talking_points(stack: Stack) -> None:
    from datetime import timedelta

    from storage.action_items import DoneItem, done_since

    team_id = await _setup(stack)
    await _say(stack, "ana", 'action "Draft the survey" @0 @1 due 2026-12-04', ["cy", "di"])
    await _say(stack, "ana", 'action "Book the room" due 2026-12-04')
    first, second = await _items(stack, team_id)
    await _say(stack, "cy", f"actions done {first.id} sent to staff")
    before_second = stack.clock.advance(timedelta(hours=1))
    stack.clock.advance(timedelta(hours=1))
    await _say(stack, "ana", f"actions done {second.id}")
    async with stack.sessions() as session:
        everything = await done_since(session, team_id, None)
        recent = await done_since(session, team_id, before_second)
    assert [(d.title, d.owners, d.outcome) for d in everything] == [
        ("Draft the survey", ("Cy Teacher", "Di Principal"), "sent to staff"),
        ("Book the room", ("Ana Labor",), None),
    ]
    assert [d.title for d in recent] == ["Book the room"]
    assert isinstance(recent[0], DoneItem) and recent[0].done_at > before_second
