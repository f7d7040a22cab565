"""Two `tandem serve` replicas on one PostgreSQL through a simulated week of schedules (a daily meeting's
reminders, a trust poll's daily checks and close, and two check-in runs — each prepared a day ahead, then
its one-off reminder and close with the digest — for two teams at the same instants): the replicas'
clocks are moved together with the chat page's "jump to the next event", so both race for every
occurrence. PostgreSQL (a throwaway cluster of this test's own) is restarted half-way: both replicas recover
and every occurrence fires exactly once, nothing lost."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from flows.core.recurrence import zone
from flows.setup.team_file import import_team, parse_team_file
from storage.checkin_models import CheckinRun
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import OccurrenceClaim, OutboxMessage, Schedule
from storage.pulse_models import PulsePoll
from tests.conftest import team_spec
from tests.reliability.conftest import Figure
from tests.reliability.throwaway_postgres import throwaway_cluster
from tests.serve_process import Served, eventually, tandem_serve
from tests.teams.conftest import fixture as teams_fixture

pytestmark = pytest.mark.slow  # processes, a browser or seconds of work: scheduled first (tests/conftest.py)
TEAMS = 2
DAYS = 7
TZ = "America/Los_Angeles"
CHECKIN_RUNS = 2
CHECKIN_KINDS = ("checkin.run", "checkin.remind", "checkin.close")


def _spec(n: int, first: datetime) -> dict[str, Any]:
    spec = team_spec(
        name=f"Replica Team {n}",
        timezone=TZ,
        channels=[{"platform": "local", "id": f"team-{n}", "name": f"#team-{n}"}],
        meeting={
            "rrule": "FREQ=DAILY",
            "start": first.strftime("%Y-%m-%dT17:00:00"),
            "reminder_minutes_before": 30,
        },
        # two runs three days apart (never moved onto one working day by a weekend), the first the day after
        # tomorrow (prepared a day ahead, so after the test starts), each open one working day, reminded 6
        # hours before close
        checkins={
            "every": f"FREQ=DAILY;INTERVAL=3;COUNT={CHECKIN_RUNS}",
            "start": (first + timedelta(days=2)).date().isoformat(),
            "at": "09:00",
            "window_days": 1,
            "remind_hours": 6,
        },
    )
    for member in spec["members"]:
        member["local"] = f"{member['local']}-{n}"
    return spec


async def _post(served: Served, path: str, **data: str) -> tuple[int, Any]:
    bounded = aiohttp.ClientTimeout(total=60)  # a replica that never answers fails the test, never hangs it
    async with (
        aiohttp.ClientSession(timeout=bounded) as http,
        http.post(f"{served.url}{path}", data=data) as response,
    ):
        text = await response.text()
        return response.status, json.loads(text) if text.startswith("{") else text


def _teams_message() -> dict[str, Any]:
    """A message in a Teams member's personal chat with the bot (Microsoft's fixture, as a message)."""
    message = teams_fixture("invoke_adaptive_card_action_execute")
    message.update(type="message", text="help", id=str(time.time_ns()), serviceUrl="http://127.0.0.1:9/")
    for key in ("name", "value"):
        message.pop(key)
    return message


UNAVAILABLE = Counter[str]()


async def _jump(served: Served, team: str) -> tuple[int, Any]:
    """The chat page's "jump to the next event"; a 503 (a connection lost with the database restart) is
    asked again, as its Retry-After says."""
    for _ in range(10):
        status, answer = await _post(served, "/chat/clock/next", team=team, person="ana-0")
        if status != 503:
            return status, answer
        UNAVAILABLE[served.url] += 1
        await asyncio.sleep(0.5)
    return status, answer


async def _earliest(sessions: Any) -> datetime | None:
    async with sessions() as session:
        found = (
            await session.execute(select(func.min(Schedule.next_fire_at)).where(Schedule.enabled))
        ).scalar()
    return found.replace(tzinfo=UTC) if found is not None and found.tzinfo is None else found


async def _checkin_open(sessions: Any) -> bool:
    """A check-in run's reminder or close still to come (a run prepared late in the week closes after it)."""
    async with sessions() as session:
        found = await session.execute(
            select(Schedule.id)
            .where(Schedule.enabled, Schedule.kind.in_(CHECKIN_KINDS[1:]), Schedule.next_fire_at.is_not(None))
            .limit(1)
        )
    return found.first() is not None


def _checkin_card(payload: dict[str, Any] | None) -> tuple[str, str] | None:
    """("invitation" | "reminder", run id) for a check-in card sent to a person, else None."""
    elements = (payload or {}).get("elements", [])
    for element in elements:
        for button in element.get("buttons", []) if element.get("type") == "buttons" else []:
            if button.get("action_id") == "checkin.answer":
                kind = "invitation" if elements[0].get("type") == "header" else "reminder"
                return kind, str(button.get("value"))
    return None


async def test_two_replicas_run_a_week_once_through_a_postgres_restart(figure: Figure) -> None:
    with throwaway_cluster() as cluster:
        db = create_engine(cluster.url)
        sessions = session_factory(db)
        try:
            await upgrade(db)
            today = datetime.now(UTC).astimezone(zone(TZ))
            async with sessions() as session, session.begin():
                teams = [
                    await import_team(session, parse_team_file(_spec(n, today)), datetime.now(UTC))
                    for n in range(TEAMS)
                ]
            team_ids = [str(t.id) for t in teams]
            env = {"TANDEM_DATABASE_URL": cluster.url, "TANDEM_LOCAL_CHAT": "on", "TANDEM_TICK_SECONDS": "1"}
            async with tandem_serve(env) as a, tandem_serve(env) as b:
                replicas = [a, b]
                names = [str((await r.health())["process"]["id"]) for r in replicas]  # type: ignore[index]
                assert names[0] != names[1]
                for n, team in enumerate(team_ids):  # the labor co-chair opens a trust poll (7 days)
                    status, _ = await _post(
                        a, "/chat/say", team=team, person=f"ana-{n}", c=f"dm-ana-{n}", text="pulse start"
                    )
                    assert status == 200
                end = datetime.now(UTC) + timedelta(days=DAYS, hours=2)
                jumps = restarted_at = 0
                while (due := await _earliest(sessions)) is not None and (
                    due <= end or await _checkin_open(sessions)
                ):
                    order = replicas if jumps % 2 == 0 else replicas[::-1]  # neither always asks first
                    answers = await asyncio.gather(*(_jump(r, team_ids[0]) for r in order))
                    assert [s for s, _ in answers] == [200, 200], answers
                    jumps += 1
                    if jumps == 7:  # half-way through the week: PostgreSQL goes away and comes back
                        cluster.stop("fast")
                        await asyncio.sleep(1.0)  # both replicas' tickers and workers meet a dead server
                        for replica in replicas:  # a request meanwhile: 503 with Retry-After, never a 500
                            async with (
                                aiohttp.ClientSession() as http,
                                http.get(
                                    f"{replica.url}/chat/messages",
                                    params={"team": team_ids[0], "person": "ana-0"},
                                ) as response,
                            ):
                                assert response.status == 503, await response.text()
                                assert response.headers["Retry-After"]
                            async with (  # and from Teams (its dev route on loopback): 503, never a 500
                                aiohttp.ClientSession() as http,
                                http.post(f"{replica.url}/api/messages", json=_teams_message()) as response,
                            ):
                                assert response.status == 503, await response.text()
                                assert response.headers["Retry-After"]
                        cluster.start()
                        restarted_at = jumps
                        await db.dispose()
                        for replica in replicas:
                            await eventually(_healthy(replica), "the replica to reconnect", within=30)
                assert restarted_at and jumps > restarted_at + 2, (jumps, restarted_at)
                async with sessions() as session:
                    claims = list((await session.execute(select(OccurrenceClaim))).scalars())
                    kinds = dict((await session.execute(select(Schedule.id, Schedule.kind))).all())
                    rows = list(
                        (await session.execute(select(OutboxMessage.target, OutboxMessage.payload))).all()
                    )
                    digests = list(
                        (
                            await session.execute(
                                select(OutboxMessage.target, OutboxMessage.message_key).where(
                                    OutboxMessage.message_key.like("checkin:%:digest")
                                )
                            )
                        ).all()
                    )
                    runs = list(
                        (
                            await session.execute(select(CheckinRun.id, CheckinRun.status, CheckinRun.asked))
                        ).all()
                    )
                    polls = list((await session.execute(select(PulsePoll.status))).scalars())
        finally:
            await db.dispose()
            for served in locals().get("replicas", []):
                print(served.output[-6000:])  # shown when the test fails
    meeting = [c for c in claims if kinds.get(c.schedule_id) == "meeting"]
    per_team = Counter(c.schedule_id for c in meeting)
    assert len(per_team) == TEAMS and all(n >= DAYS for n in per_team.values()), per_team
    assert all(c.status == "ran" for c in claims), Counter(c.status for c in claims)
    channel_texts = Counter(
        (t["address"], p["elements"][0]["text"])
        for t, p in rows
        if str(t.get("address", "")).startswith("team-")
    )
    assert max(channel_texts.values()) == 1, [k for k, n in channel_texts.items() if n > 1]
    assert sum(channel_texts.values()) >= len(meeting) + TEAMS, "a reminder per occurrence, and the reports"
    assert polls and all(s != "open" for s in polls), polls  # each poll closed on its last day
    # check-ins: each run prepared, reminded and closed once; one invitation and one reminder per person
    # asked (nobody answers), one digest per channel
    checkin = Counter(
        str(kinds.get(c.schedule_id)) for c in claims if kinds.get(c.schedule_id) in CHECKIN_KINDS
    )
    assert len(runs) == TEAMS * CHECKIN_RUNS and all(r.status == "closed" for r in runs), runs
    assert checkin == {kind: TEAMS * CHECKIN_RUNS for kind in CHECKIN_KINDS}, checkin
    asked = {(str(r.id), person) for r in runs for person in r.asked}
    assert all(len(r.asked) == len(_spec(0, datetime.now(UTC))["members"]) for r in runs), runs
    cards = Counter(
        (kind, json.dumps(t, sort_keys=True), run)
        for t, p in rows
        if (found := _checkin_card(p))
        for kind, run in [found]
    )
    invitations = Counter({k: n for k, n in cards.items() if k[0] == "invitation"})
    reminders = Counter({k: n for k, n in cards.items() if k[0] == "reminder"})
    assert len(invitations) == len(asked) and set(invitations.values()) == {1}, invitations
    assert len(reminders) == len(asked) and set(reminders.values()) == {1}, reminders
    per_channel = Counter((str(t.get("address")), key) for t, key in digests)
    assert len(per_channel) == TEAMS * CHECKIN_RUNS and set(per_channel.values()) == {1}, per_channel
    by_replica = Counter(c.claimed_by for c in claims)
    assert set(by_replica) == set(names), by_replica  # both replicas ran occurrences
    figure("jumps (simulated events)", jumps)
    figure("occurrences claimed", len(claims))
    figure("jumps answered 503 after the restart (then retried)", sum(UNAVAILABLE.values()))
    figure("claims by kind", dict(sorted(Counter(str(kinds.get(c.schedule_id)) for c in claims).items())))
    figure("meeting reminders per team", sorted(per_team.values()))
    figure("claims by replica", sorted(by_replica.values()))
    figure("occurrences fired twice", sum(1 for n in channel_texts.values() if n > 1))
    figure("check-in runs (all closed)", len(runs))
    figure(
        "check-in invitations / reminders / digests sent twice",
        sum(n - 1 for c in (invitations, reminders, per_channel) for n in c.values()),
    )


def _healthy(served: Served) -> Any:
    async def check() -> bool:
        try:
            health = await served.health()
        except (aiohttp.ClientError, ValueError):
            return False
        return health.get("status") == "ok"

    return check
