"""`tandem demo`, the pulse quarter: a trust poll opened by a co-chair, answers from the demo members, the
private reminders, the release to everyone at once, the report and its chart (stored with the poll in the
database; the demo also writes a copy of the PNG to a file it names).

The lead calls `run_pulse_quarter(runtime, local, clock, out, team_name, chart_file)` from bot/demo.py after
the meetings, with the demo's runtime, local adapter and clock (the team must already be imported, with
co-chair `maria`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from adapters.local import LocalAdapter
from bot.runtime import Runtime
from flows.content.instruments import instruments
from flows.core.clock import ManualClock
from storage import images, pulse

# Each demo member's answers, on 1 (not evident) to 5 (consistently evident), and an optional comment.
DEMO_ANSWERS: dict[str, tuple[dict[str, int], str]] = {
    "aisha": (
        {"respect": 4, "regard": 5, "competence": 4, "integrity": 4},
        "Meetings feel more open lately.",
    ),
    "tom": ({"respect": 3, "regard": 4, "competence": 4, "integrity": 3}, ""),
    "rosa": (
        {"respect": 2, "regard": 4, "competence": 3, "integrity": 3},
        "Disagreements still get personal.",
    ),
    "kevin": ({"respect": 4, "regard": 4, "competence": 5, "integrity": 4}, ""),
    "linda": ({"respect": 3, "regard": 5, "competence": 4, "integrity": 5}, ""),
    "david": ({"respect": 3, "regard": 4, "competence": 4, "integrity": 4}, ""),
}
LATE = "maria"  # answers after the reminder


def _values(scores: dict[str, int], comment: str, tweak: int) -> dict[str, str]:
    rtsa = instruments()["relational-trust"]
    values = {}
    for n, item in enumerate(rtsa.items):
        base = scores[rtsa.component_of(item.id)]
        values[item.id] = str(max(1, min(5, base + ((n + tweak) % 3 == 0) - ((n + tweak) % 5 == 0))))
    if comment:
        values["comment"] = comment
    return values


async def _answer(
    runtime: Runtime, local: LocalAdapter, user: str, poll_id: int, values: dict[str, str]
) -> None:
    await local.click(user, "pulse.answer", str(poll_id))
    if local.last_form is not None:
        await local.submit(user, local.last_form, values)
    await runtime.worker.drain()


async def run_pulse_quarter(
    runtime: Runtime,
    local: LocalAdapter,
    clock: ManualClock,
    out: Callable[[str], None],
    team_name: str,
    chart_file: Path,
) -> Path | None:
    """Run one quarter's trust poll; write a copy of its stored chart to `chart_file` and return that path
    (None if the poll was withheld, so there is no chart)."""
    from storage import teams

    async with runtime.sessions() as session:
        team = await teams.team_by_name(session, team_name)
    assert team is not None
    out("\n=== A quarter's trust check: Maria (labor co-chair) starts the trust self-assessment ===")
    out(">>> Maria types: pulse start")
    await local.command("maria", "pulse start")
    await runtime.worker.drain()
    async with runtime.sessions() as session:
        poll = await pulse.open_poll(session, team.id)
    assert poll is not None
    for n, (user, (scores, comment)) in enumerate(DEMO_ANSWERS.items()):
        if n == 0:
            out(f"\n>>> {user.title()} presses Answer now, fills in the one form and submits")
        await _answer(runtime, local, user, poll.id, _values(scores, comment, n))
    out("\n>>> David (management co-chair) types: pulse status")
    await local.command("david", "pulse status")
    await runtime.worker.drain()
    out("\n=== Three days later: private reminders to those who haven't answered (never a channel post) ===")
    await _advance(runtime, clock, poll.closes_at - timedelta(days=4))
    await _answer(
        runtime,
        local,
        LATE,
        poll.id,
        _values({"respect": 4, "regard": 4, "competence": 4, "integrity": 4}, "", 7),
    )
    out("\n=== The deadline: the report goes to the channel and to each co-chair at the same moment ===")
    await _advance(runtime, clock, poll.closes_at + timedelta(minutes=1))
    async with runtime.sessions() as session:
        chart = await images.load(session, images.chart_name(poll.id))
    if chart is None:
        return None
    chart_file.write_bytes(chart.content)
    out(f"\nTrend chart (PNG): stored with the poll in the database; a copy for you: {chart_file}")
    return chart_file


async def _advance(runtime: Runtime, clock: ManualClock, until: object) -> None:
    """Move the clock a day at a time to `until`, ticking and delivering as the bot would."""
    from datetime import datetime

    assert isinstance(until, datetime)
    while clock.now() < until:
        clock.set(min(until, clock.now() + timedelta(days=1)))
        await runtime.engine.tick()
        await runtime.worker.drain()
