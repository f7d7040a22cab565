"""The export carries aggregates only, with the report's suppression; the demo quarter runs end to end."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

from adapters.local import LocalAdapter
from bot.demo_pulse import run_pulse_quarter
from bot.pulse_export import ExportError, export_pulse
from bot.runtime import Runtime
from bot.settings import Settings
from flows.core.clock import ManualClock
from flows.setup.team_file import import_team, parse_team_file
from tests.conftest import Stack
from tests.pulse.conftest import all_items, answer, big_team, current_poll


async def test_export_has_aggregates_per_poll_component_and_side(stack: Stack) -> None:
    stack.clock.set(datetime(2026, 10, 5, 16, 0, tzinfo=UTC))
    team = await stack.import_team(big_team())
    await stack.local.command("l0", "pulse start")
    poll = await current_poll(stack, team.id)
    for user in ("l1", "l2", "l3", "l4", "l5", "m1", "m2", "m3", "m4", "m5"):
        await answer(stack, user, poll.id, all_items(4 if user.startswith("l") else 2))
    await stack.local.command("m0", "pulse close")
    rows = list(csv.DictReader(io.StringIO(await export_pulse(stack.sessions, "Test Solutions Team", "csv"))))
    assert {r["side"] for r in rows} == {"all", "labor", "management"}
    assert len(rows) == 4 * 3
    respect = {r["side"]: r for r in rows if r["component"] == "Mutual Respect"}
    assert respect["labor"]["mean"] == "4.0" and respect["management"]["mean"] == "2.0"
    assert respect["all"]["mean"] == "3.0" and respect["all"]["answers"] == "10"
    data = json.loads(await export_pulse(stack.sessions, "Test Solutions Team", "json"))
    assert all(set(r) >= {"poll", "component", "side", "mean", "answers"} for r in data["rows"])
    assert not any("person" in k or "ballot" in k for r in data["rows"] for k in r)
    for bad in (("Nope", "csv"), ("Test Solutions Team", "xml")):
        try:
            await export_pulse(stack.sessions, *bad)
        except ExportError:
            continue
        raise AssertionError(bad)


async def test_the_demo_quarter_runs_and_leaves_a_chart(tmp_path: Path) -> None:
    from bot.demo import DEMO_TEAM, TZ
    from flows.core.recurrence import zone

    settings = Settings(TANDEM_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}")
    clock = ManualClock(datetime(2026, 10, 20, 9, 0, tzinfo=zone(TZ)))
    local = LocalAdapter()
    runtime = Runtime(settings, clock=clock, adapters={"local": local})
    local.handle = runtime.engine.handle
    await runtime.start(schedule=False, deliver=False)
    lines: list[str] = []
    try:
        async with runtime.sessions() as session, session.begin():
            await import_team(session, parse_team_file(DEMO_TEAM), clock.now())
        local.listeners.append(lambda e: lines.append(f"{e.where}\n{e.text}"))
        chart = await run_pulse_quarter(
            runtime, local, clock, lines.append, DEMO_TEAM["name"], tmp_path / "trust-chart.png"
        )
    finally:
        await runtime.stop()
    text = "\n".join(lines)
    assert chart == tmp_path / "trust-chart.png" and chart.read_bytes()[:4] == b"\x89PNG"
    assert f"stored with the poll in the database; a copy for you: {chart}" in text
    assert "gentle reminder" in text and "7 of 8 answered" in text
    assert "#riverside-solutions\nRelational Trust Self-Assessment — results" in text
