"""The team file's pulse fields: the default quarterly trust check (DST-safe), `pulse: off`, and a team's own
polls (validated, stored, startable; a bad one refused naming the field, nothing written)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from flows.core.recurrence import Recurrence
from flows.core.team_schedules import QUARTERLY_KIND, default_first, quarterly_rule
from flows.setup.team_file import TeamFileError
from storage import flow_state, schedules
from storage.models import Schedule, Team
from tests.conftest import Stack
from tests.pulse.conftest import big_team, current_poll

NOW = datetime(2026, 10, 5, 16, 0, tzinfo=UTC)  # Monday 5 Oct 2026, 9 AM Pacific

OUR_POLL = {
    "name": "Meeting health",
    "purpose": "A quick look at how our meetings go.",
    "scale": {"min": 1, "max": 4, "labels": {1: "rarely", 4: "almost always"}},
    "components": [
        {"name": "Talking", "items": ["We listen before we answer.", "We disagree without blame."]},
        {"name": "Deciding", "items": [{"id": "stick", "text": "Our decisions stick."}]},
    ],
}


async def _quarterly(stack: Stack, team_id: int) -> list[Schedule]:
    async with stack.sessions() as session:
        return await schedules.for_team(session, team_id, QUARTERLY_KIND)


async def _say(stack: Stack, user: str, text: str) -> str:
    await stack.local.command(user, text)
    await stack.worker.drain()
    return stack.local.transcript[-1].text


def test_quarterly_keeps_the_weekday_of_the_month() -> None:
    assert quarterly_rule(date(2026, 1, 12)) == "FREQ=MONTHLY;INTERVAL=3;BYDAY=2MO"
    assert quarterly_rule(date(2026, 1, 30)) == "FREQ=MONTHLY;INTERVAL=3;BYDAY=-1FR"  # 5th Friday: the last
    assert default_first(NOW, "America/Los_Angeles") == date(2027, 1, 11)  # 2nd Monday of next quarter
    assert default_first(datetime(2026, 12, 31, 12, 0, tzinfo=UTC), "Pacific/Auckland") == date(2027, 4, 12)


async def test_import_creates_the_quarterly_trust_check_in_the_team_zone(stack: Stack) -> None:
    stack.clock.set(NOW)
    team = await stack.import_team(big_team())
    (schedule,) = await _quarterly(stack, team.id)
    assert schedule.enabled and schedule.timezone == "America/Los_Angeles"
    assert (schedule.settings or {})["instrument"] == "relational-trust"
    assert schedule.next_occurrence_local == "2027-01-11T09:00:00"
    assert schedule.next_fire_at == datetime(2027, 1, 11, 17, 0, tzinfo=UTC)  # 9 AM PST
    recurrence = Recurrence(schedule.rrule, datetime(2027, 1, 11, 9, 0), schedule.timezone)
    april = recurrence.first_after(datetime(2027, 1, 11, 9, 0))
    assert april == datetime(2027, 4, 12, 9, 0) and recurrence.fire_at(april) == datetime(
        2027, 4, 12, 16, 0, tzinfo=UTC
    )  # 9 AM PDT: the wall clock holds across the DST change
    # A co-chair's own schedule survives a re-import of a file that says nothing about pulse.
    assert "every quarter" in await _say(stack, "l0", "pulse schedule 2026-11-09")
    await stack.import_team(big_team())
    (schedule,) = await _quarterly(stack, team.id)
    assert schedule.next_occurrence_local == "2026-11-09T09:00:00"


async def test_the_team_file_sets_the_start_and_the_poll_opens_then(stack: Stack) -> None:
    stack.clock.set(NOW)
    team = await stack.import_team(big_team(pulse={"every": "quarterly", "start": "2026-01-12"}))
    (schedule,) = await _quarterly(stack, team.id)
    assert schedule.next_fire_at == datetime(2026, 10, 12, 16, 0, tzinfo=UTC)  # 2nd Monday, 9 AM PDT
    await stack.run_until(datetime(2026, 10, 12, 16, 0, tzinfo=UTC))
    poll = await current_poll(stack, team.id)
    assert poll.opened_local == "2026-10-12T09:00:00" and poll.instrument_id == "relational-trust"
    (schedule,) = await _quarterly(stack, team.id)
    assert schedule.next_fire_at == datetime(2027, 1, 11, 17, 0, tzinfo=UTC)  # 9 AM PST


async def test_pulse_off_means_no_schedule(stack: Stack) -> None:
    stack.clock.set(NOW)
    team = await stack.import_team(big_team(pulse=False))  # YAML reads `pulse: off` as false
    assert await _quarterly(stack, team.id) == []
    await stack.import_team(big_team())
    assert len(await _quarterly(stack, team.id)) == 1
    await stack.import_team(big_team(pulse="off"))
    assert not (await _quarterly(stack, team.id))[0].enabled
    with pytest.raises(TeamFileError, match=r"pulse\.instrument"):
        await stack.import_team(big_team(pulse={"instrument": "nonsense"}))


async def test_a_team_defined_poll_is_stored_and_can_be_started(stack: Stack) -> None:
    stack.clock.set(NOW)
    team = await stack.import_team(big_team(polls=[OUR_POLL], pulse={"instrument": "meeting-health"}))
    async with stack.sessions() as session:
        stored = await flow_state.load(session, "pulse", team.id, "team-polls")
    assert [p["id"] for p in stored["polls"]] == ["meeting-health"]
    assert (await _quarterly(stack, team.id))[0].settings["instrument"] == "meeting-health"
    assert "meeting-health" in "".join((await _say(stack, "l0", "pulse start nonsense")).split("\n"))
    assert "Meeting health is open" in await _say(stack, "m0", "pulse start meeting-health")
    poll = await current_poll(stack, team.id)
    assert poll.instrument_id == "meeting-health" and poll.instrument["scale"]["max"] == 4
    await stack.local.click("l3", "pulse.answer", str(poll.id))
    form = stack.local.last_form
    assert form is not None
    assert [e.text for e in form.elements if e.type == "header"] == ["Talking", "Deciding"]
    questions = [e for e in form.elements if e.type == "question"]
    assert [q.id for q in questions] == ["talking.1", "talking.2", "stick"]
    assert [c.label for c in questions[0].choices] == ["1 rarely", "2", "3", "4 almost always"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"scale": {"min": 1}}, "polls: meeting-health: scale: give min and max"),
        ({"scale": {"min": 1, "max": 40}}, "polls: meeting-health: scale: from min to max"),
        (
            {"components": [{"name": "Talking", "items": ["ok", "  "]}]},
            "polls: meeting-health: components.0.items.1.text",
        ),
        ({"name": ""}, "polls: poll 1: name"),
        ({"name": "Trust"}, "polls: poll 1: id: 'trust'"),
        ({"colour": "blue"}, "polls: poll 1: unknown field(s) colour"),
    ],
)
async def test_a_bad_team_poll_is_refused_naming_the_field_and_nothing_is_written(
    stack: Stack, change: dict[str, object], field: str
) -> None:
    stack.clock.set(NOW)
    with pytest.raises(TeamFileError) as refused:
        await stack.import_team(big_team(polls=[{**OUR_POLL, **change}]))
    assert field in str(refused.value)
    async with stack.sessions() as session:
        assert (await session.execute(select(func.count()).select_from(Team))).scalar_one() == 0
