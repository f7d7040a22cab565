"""`tandem team import`: a bad team file is refused with the field named, and nothing is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.team_file import import_file, show
from flows.core.clock import ManualClock
from flows.setup.team_file import TeamFileError
from storage import schedules, teams
from storage.models import AuditEntry, Identity, Membership, Person, Schedule, Team, TeamChannel
from tests.conftest import team_spec

# Writing a team (one transaction, the constraints) runs on PostgreSQL as well; refusals of a file happen
# before the database, on SQLite alone (tests/conftest.py).


async def _row_counts(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session:
        return {
            model.__tablename__: int(
                (await session.execute(select(func.count()).select_from(model))).scalar_one()
            )
            for model in (Team, Person, Identity, Membership, TeamChannel, Schedule, AuditEntry)
        }


def _write(tmp_path: Path, spec: Any) -> Path:
    path = tmp_path / "team.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return path


def _one_co_chair() -> dict[str, Any]:
    spec = team_spec()
    spec["members"][1]["co_chair"] = False
    return spec


BAD_FILES = {
    "one co-chair": (_one_co_chair(), "members: a team needs co-chairs from both sides"),
    "unknown zone": (
        team_spec(timezone="Mars/Olympus_Mons"),
        "timezone: unknown IANA time zone 'Mars/Olympus_Mons'",
    ),
    "malformed rrule": (
        team_spec(meeting={"rrule": "FREQ=FORTNIGHTLY;BYDAY=TU", "start": "2026-09-01T16:00:00"}),
        "meeting.rrule: malformed RRULE",
    ),
    "unknown norms pack": (team_spec(norms="golden-rules"), "norms: unknown norms pack 'golden-rules'"),
    "bad side": (
        team_spec(members=[*team_spec()["members"][:2], {"name": "X", "side": "union", "local": "x"}]),
        "members.2.side",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
async def test_bad_team_file_is_refused_naming_the_field(
    case: str, tmp_path: Path, sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    spec, expected = BAD_FILES[case]
    before = await _row_counts(sessions)
    with pytest.raises(TeamFileError) as refused:
        await import_file(sessions, clock, _write(tmp_path, spec))
    assert expected in str(refused.value)
    assert await _row_counts(sessions) == before


@pytest.mark.both_databases
async def test_a_failure_midway_leaves_nothing_half_written(
    tmp_path: Path, sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    # Valid on its face, but the channel is listed twice: the database refuses it at the very end.
    spec = team_spec(channels=[{"platform": "local", "id": "c1"}, {"platform": "local", "id": "c1"}])
    before = await _row_counts(sessions)
    with pytest.raises(Exception):  # noqa: B017 - the integrity error's class differs by driver
        await import_file(sessions, clock, _write(tmp_path, spec))
    assert await _row_counts(sessions) == before


@pytest.mark.both_databases
async def test_import_then_show_then_update(
    tmp_path: Path, sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    summary = await import_file(sessions, clock, _write(tmp_path, team_spec()))
    assert summary.startswith("Created team 'Test Solutions Team': 6 members (2 co-chairs)")
    shown = await show(sessions, "Test Solutions Team")
    assert "Ana Labor (labor), Ben Manager (management)" in shown
    assert "Next meeting" in shown and "Tue 20 Oct, 4:00 PM PDT" in shown

    # Update: one member leaves, one gains a Teams identity, the meeting moves to Wednesdays.
    spec = team_spec(meeting={"rrule": "FREQ=WEEKLY;BYDAY=WE", "start": "2026-09-02T15:00:00"})
    spec["members"] = spec["members"][:-1]
    spec["members"][2]["teams"] = "29:cy-aad"
    summary = await import_file(sessions, clock, _write(tmp_path, spec))
    assert summary.startswith("Updated team")
    async with sessions() as session:
        team = await teams.team_by_name(session, "Test Solutions Team")
        assert team is not None
        assert len(await teams.members(session, team.id)) == 5
        meeting = await schedules.for_team(session, team.id, "meeting")
        assert len(meeting) == 1 and meeting[0].rrule == "FREQ=WEEKLY;BYDAY=WE"
        cy = await teams.person_by_identity(session, "teams", "29:cy-aad")
        assert cy is not None and cy.display_name == "Cy Teacher"
        assert await teams.person_by_identity(session, "local", "cy") is not None


async def test_show_unknown_team_lists_known_ones(
    tmp_path: Path, sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    await import_file(sessions, clock, _write(tmp_path, team_spec()))
    with pytest.raises(TeamFileError, match="no team named 'Nope' \\(teams: Test Solutions Team\\)"):
        await show(sessions, "Nope")


async def test_broken_yaml_is_refused_with_its_line(
    tmp_path: Path, sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    path = tmp_path / "team.yaml"
    path.write_text("name: A\nmembers: [\n  - oops\n", encoding="utf-8")
    with pytest.raises(TeamFileError, match="not valid YAML at line"):
        await import_file(sessions, clock, path)
