"""The trend (participation per run over the last quarter, the mood average, text and chart), the export
(named answers, the mood as aggregates only), the team file's `checkins:` section and the prompt rotation."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.checkins_export import ExportError, export_checkins
from flows.core.checkin_settings import default_prompts, library, rotation
from flows.setup.team_file import TeamFileError, parse_team_file
from storage import images, schedules
from storage.images import PNG_MAGIC
from tests.checkins.conftest import answer, checkin_spec, runs, set_up
from tests.conftest import Stack

TEAM = "Test Solutions Team"


async def _two_runs(stack: Stack) -> int:
    team_id = await set_up(stack, checkin_spec(mood=True, questions=1), ny=())
    moods = {"ana": "4", "ben": "3", "cy": "5", "di": "2", "ed": "4"}
    for week, nine in enumerate(
        (datetime(2026, 10, 26, 16, 0, tzinfo=UTC), datetime(2026, 11, 2, 17, 0, tzinfo=UTC))
    ):
        await stack.run_until(nine - timedelta(hours=26))
        await stack.run_until(nine)
        (*_, run) = await runs(stack, team_id)
        users = list(moods) if week == 0 else ["ana", "ben"]
        for user in users:
            await answer(stack, user, run.id, {"q1": f"{user} in week {week}", "mood": moods[user]})
        await stack.run_until(run.closes_at)
    return team_id


async def test_the_trend_shows_participation_and_the_released_mood_as_text_and_chart(stack: Stack) -> None:
    team_id = await _two_runs(stack)
    await stack.local.command("cy", "checkin trend", channel="team-channel")
    await stack.worker.drain()
    text = " ".join(stack.local.transcript[-1].text.split())
    assert "5 of 6 checked in (83%). Mood 3.6 out of 5." in text
    assert "2 of 6 checked in (33%)." in text and text.count("Mood") == 1  # two moods: below the minimum
    (*_, latest) = await runs(stack, team_id)
    assert f"tandem-image:checkin-chart-{latest.id}.png" in text
    async with stack.sessions() as session:
        chart = await images.load(session, f"checkin-chart-{latest.id}.png")
    assert chart is not None and chart.content.startswith(PNG_MAGIC)


async def test_the_export_has_named_answers_and_the_mood_only_as_an_aggregate(stack: Stack) -> None:
    await _two_runs(stack)
    rows = list(csv.DictReader(io.StringIO(await export_checkins(stack.sessions, TEAM, "csv"))))
    summaries = [r for r in rows if not r["question"]]
    assert [(r["asked"], r["answered"], r["mood_average"], r["moods"]) for r in summaries] == [
        ("6", "5", "3.6", "5"),
        ("6", "2", "", ""),
    ]
    answers = [r for r in rows if r["question"]]
    assert len(answers) == 7 and {"Ana Labor", "Cy Teacher"} <= {r["name"] for r in answers}
    assert all(r["mood_average"] == "" for r in answers)  # no mood beside a name
    data = json.loads(await export_checkins(stack.sessions, TEAM, "json"))
    assert len(data["rows"]) == len(rows)
    for bad in (("Nope", "csv"), (TEAM, "xml")):
        with pytest.raises(ExportError):
            await export_checkins(stack.sessions, *bad)


async def test_the_team_file_sets_the_schedule_and_refuses_bad_settings(stack: Stack) -> None:
    team_id = await set_up(
        stack, checkin_spec(prompts=[1, "What are you proud of?"], questions=1, window_days=3)
    )
    async with stack.sessions() as session:
        (row,) = await schedules.for_team(session, team_id, "checkin.run")
    assert row.enabled and row.settings["prompts"] == [library()[0], "What are you proud of?"]
    assert row.settings["window_days"] == 3 and row.next_occurrence_local == "2026-10-26T09:00:00"
    for bad, word in (
        ({"questions": 4}, "questions"),
        ({"prompts": [99]}, "no prompt number 99"),
        ({"every": "FREQ=SOMETIMES"}, "rrule"),
        ({"window_days": 0}, "window_days"),
    ):
        with pytest.raises(TeamFileError, match=word):
            parse_team_file(checkin_spec(**bad))
    off = checkin_spec()
    off["checkins"] = "off"
    await stack.import_team(off)
    async with stack.sessions() as session:
        (row,) = await schedules.for_team(session, team_id, "checkin.run")
    assert not row.enabled


def test_each_run_asks_the_next_prompts_in_turn() -> None:
    prompts = ("a", "b", "c", "d", "e")
    assert [rotation(prompts, 2, n) for n in range(3)] == [("a", "b"), ("c", "d"), ("e", "a")]
    assert rotation(("a",), 3, 7) == ("a",)
    assert set(default_prompts()) == {
        "How is your week going?",
        "What would help you this week?",
        "What went well since we last met?",
    }


async def test_anyone_lists_the_prompts_and_a_co_chair_sets_them_from_chat(stack: Stack) -> None:
    team_id = await set_up(stack, ny=())
    await stack.local.command("cy", "checkin prompts")
    await stack.worker.drain()
    listing = stack.local.transcript[-1].text
    assert "1. " + library()[0] in listing and "What would help you this week?" in listing
    await stack.local.command("ben", 'checkin prompts 2 "What are you proud of?"')
    await stack.local.command("ben", "checkin questions 1")
    await stack.worker.drain()
    async with stack.sessions() as session:
        (row,) = await schedules.for_team(session, team_id, "checkin.run")
    assert row.settings["prompts"] == [library()[1], "What are you proud of?"]
    assert row.settings["questions"] == 1 and row.enabled
