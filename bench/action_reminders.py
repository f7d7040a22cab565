"""Action-item reminders at scale: 20,000 open items across 1,000 teams, a simulated month of ticks.

    .venv/bin/python bench/action_reminders.py              # PostgreSQL (the local server)
    .venv/bin/python bench/action_reminders.py --tick-minutes 1 --days 31

What it does:
1. creates a PostgreSQL database and loads 1,000 teams in four US zones (6 members, 2 co-chairs, half of
   the teams on the US federal holidays) and 20,000 open items (20 a team, 1–2 owners each, due dates
   spread over December 2026; a tenth of the people in another zone; 5% away for a week), not timed;
2. warm-up: the first pass over all 20,000 items at once (as if every item had just been created), timed
   and reported apart;
3. a simulated month: the real Engine.tick (schedules, then the reminder pass) every `--tick-minutes` of
   a ManualClock, each followed by the real delivery worker draining to a counting adapter; each tick's
   duration is measured (delivery excluded);
4. checks exactly-once: the reminders delivered are exactly the (item, owner, slot) triples the pure policy
   (flows/actions/policy.py) says fall due in the window — each once, none missing, none twice.
Goal (issue 17): every due reminder sent exactly once; tick p99 < 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

from bot.delivery import DeliveryWorker
from flows.actions.flow import ActionsFlow
from flows.actions.policy import Policy, slots
from flows.core.calendar import TeamCalendar
from flows.core.clock import ManualClock
from flows.core.engine import Engine
from flows.core.types import Card
from storage.action_models import ActionItem, ActionOwner
from storage.calendar_models import PersonAway
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import Identity, Membership, Person, Team, TeamChannel
from storage.us_holidays import us_federal_holidays

TEAMS = 1_000
ITEMS_PER_TEAM = 20
MEMBERS = 6
ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles")
START = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)
PG_ADMIN = os.environ.get(
    "TANDEM_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)


class CountingAdapter:
    platform = "local"
    capabilities: frozenset[Any] = frozenset()

    def __init__(self) -> None:
        self.texts: Counter[str] = Counter()
        self.sent = 0

    async def send(self, target: dict[str, Any], card: Card) -> str | None:
        self.sent += 1
        return None

    async def update(self, target: dict[str, Any], ref: str, card: Card) -> str | None:
        return ref


async def _admin(sql: str) -> None:
    engine = create_engine(PG_ADMIN)
    try:
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(sql))
    finally:
        await engine.dispose()


def _plan() -> dict[str, Any]:
    """Every team, person, item, owner and away range, from a fixed seed."""
    rng = random.Random(17)
    teams, people, items, owners, away = [], [], [], [], []
    for t in range(1, TEAMS + 1):
        zone = ZONES[t % len(ZONES)]
        teams.append({"id": t, "zone": zone, "federal": t % 2 == 0})
        members = []
        for m in range(MEMBERS):
            pid = (t - 1) * MEMBERS + m + 1
            own_zone = ZONES[(t + 1) % len(ZONES)] if rng.random() < 0.1 else None
            people.append({"id": pid, "team": t, "position": m, "zone": own_zone})
            members.append(pid)
            if rng.random() < 0.05:
                first = date(2026, 12, 1) + timedelta(days=rng.randrange(28))
                away.append(
                    {
                        "team_id": t,
                        "person_id": pid,
                        "first_day": first,
                        "last_day": first + timedelta(days=6),
                    }
                )
        for _ in range(ITEMS_PER_TEAM):
            iid = len(items) + 1
            due = date(2026, 12, 1) + timedelta(days=rng.randrange(31))
            items.append({"id": iid, "team": t, "due": due})
            for position, pid in enumerate(rng.sample(members, rng.choice((1, 1, 2)))):
                owners.append({"item_id": iid, "person_id": pid, "position": position})
    return {"teams": teams, "people": people, "items": items, "owners": owners, "away": away}


async def _load(url: str, plan: dict[str, Any]) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    async with engine.begin() as conn:
        await conn.execute(
            insert(Team),
            [
                {
                    "id": t["id"],
                    "name": f"Team {t['id']}",
                    "timezone": t["zone"],
                    "language": "en",
                    "settings": {"us_federal_holidays": t["federal"]},
                    "created_at": START,
                }
                for t in plan["teams"]
            ],
        )
        people = plan["people"]
        await conn.execute(
            insert(Person),
            [
                {
                    "id": p["id"],
                    "display_name": f"Person {p['id']}",
                    "timezone": p["zone"],
                    "created_at": START,
                }
                for p in people
            ],
        )
        await conn.execute(
            insert(Identity),
            [
                {"person_id": p["id"], "platform": "local", "workspace": "", "user_id": f"u{p['id']}"}
                for p in people
            ],
        )
        await conn.execute(
            insert(Membership),
            [
                {
                    "team_id": p["team"],
                    "person_id": p["id"],
                    "side": "labor" if p["position"] % 2 == 0 else "management",
                    "co_chair": p["position"] < 2,
                    "position": p["position"],
                    "joined_at": START,
                }
                for p in people
            ],
        )
        await conn.execute(
            insert(TeamChannel),
            [
                {
                    "team_id": t["id"],
                    "platform": "local",
                    "workspace": "",
                    "address": f"c{t['id']}",
                    "name": None,
                }
                for t in plan["teams"]
            ],
        )
        await conn.execute(insert(PersonAway), plan["away"])
        for start in range(0, len(plan["items"]), 5000):
            await conn.execute(
                insert(ActionItem),
                [
                    {
                        "id": i["id"],
                        "team_id": i["team"],
                        "title": f"Promise {i['id']}",
                        "status": "open",
                        "due": i["due"],
                        "created_at": START,
                        "updated_at": START,
                        "next_remind_at": START,
                    }
                    for i in plan["items"][start : start + 5000]
                ],
            )
        for start in range(0, len(plan["owners"]), 5000):
            await conn.execute(insert(ActionOwner), plan["owners"][start : start + 5000])
        for table in (
            "teams",
            "people",
            "identities",
            "memberships",
            "team_channels",
            "action_items",
            "action_owners",
        ):
            await conn.execute(text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"))
        await conn.execute(text("ANALYZE"))
    await engine.dispose()


def _expected(plan: dict[str, Any], end: datetime) -> set[tuple[int, int, str]]:
    """(item, owner, slot) of every reminder the policy says falls due in (START, end]."""
    teams = {t["id"]: t for t in plan["teams"]}
    zones = {p["id"]: p["zone"] for p in plan["people"]}
    away: dict[int, list[tuple[date, date]]] = {}
    for a in plan["away"]:
        away.setdefault(a["person_id"], []).append((a["first_day"], a["last_day"]))
    calendars = {}
    for t in plan["teams"]:
        holidays = (
            {d: n for y in (2026, 2027) for d, n in us_federal_holidays(y).items()} if t["federal"] else {}
        )
        calendars[t["id"]] = TeamCalendar(t["id"], t["zone"], frozenset(range(5)), holidays)
    items = {i["id"]: i for i in plan["items"]}
    out = set()
    for owner in plan["owners"]:
        item = items[owner["item_id"]]
        team = teams[item["team"]]
        pid = owner["person_id"]
        zone = zones[pid] or team["zone"]
        for slot in slots(item["due"], Policy(), calendars[team["id"]], zone, sorted(away.get(pid, ()))):
            if START < slot.at <= end:
                out.add((item["id"], pid, slot.key))
    return out


async def _run(url: str, days: int, tick_minutes: int) -> None:
    plan = _plan()
    loaded = time.perf_counter()
    await _load(url, plan)
    print(
        f"loaded {TEAMS:,} teams, {len(plan['items']):,} items, {len(plan['owners']):,} owners "
        f"in {time.perf_counter() - loaded:.1f} s"
    )
    db = create_engine(url, pool_size=5)
    sessions = session_factory(db)
    clock = ManualClock(START)
    adapter = CountingAdapter()
    worker = DeliveryWorker(sessions, {"local": adapter}, clock, batch=500)  # type: ignore[dict-item]
    engine = Engine(sessions, clock, [ActionsFlow()], batch=200)

    warm = time.perf_counter()
    report = await engine.tick()
    print(
        f"warm-up: first pass over {report.passed:,} items at once: "
        f"{time.perf_counter() - warm:.1f} s (not counted)"
    )

    end = START + timedelta(days=days)
    durations: list[float] = []
    busy: list[tuple[float, int]] = []
    moment = START
    while moment < end:
        moment += timedelta(minutes=tick_minutes)
        clock.set(moment)
        started = time.perf_counter()
        report = await engine.tick()
        took = time.perf_counter() - started
        durations.append(took)
        if report.passed:
            busy.append((took, report.passed))
        await worker.drain()
    async with sessions() as session:
        rows = (
            await session.execute(text("SELECT item_id, person_id, slot, status FROM action_reminders"))
        ).all()
        delivered = (
            await session.execute(text("SELECT count(*) FROM outbox WHERE status = 'sent'"))
        ).scalar_one()
        waiting = (
            await session.execute(text("SELECT count(*) FROM outbox WHERE status = 'pending'"))
        ).scalar_one()
    await db.dispose()

    expected = _expected(plan, end)
    decided = {(r.item_id, r.person_id, r.slot) for r in rows if r.slot and r.status == "sent"}
    statuses = Counter(r.status for r in rows)
    sent_in_window = {k for k in decided if k in expected}
    ahead = decided - expected  # prepared before `end` for a time just after it (held in the outbox)
    durations.sort()
    p = lambda q: durations[min(len(durations) - 1, int(q * len(durations)))] * 1000  # noqa: E731
    print(
        f"{len(durations):,} ticks every {tick_minutes} min over {days} days (ManualClock), "
        f"{len(busy):,} with reminder work"
    )
    print(
        f"tick ms: p50 {p(0.50):.1f}  p99 {p(0.99):.1f}  max {durations[-1] * 1000:.1f}  "
        f"mean {statistics.mean(durations) * 1000:.1f}"
    )
    if busy:
        most = max(n for _, n in busy)
        print(
            f"busiest tick: {most} items looked at; ticks with work: "
            f"median {statistics.median(t for t, _ in busy) * 1000:.1f} ms"
        )
    print(f"reminder slots decided: {dict(statuses)}")
    print(
        f"expected by the policy in the window: {len(expected):,}; sent: {len(sent_in_window):,}; "
        f"missing: {len(expected - decided):,}; prepared for just after the window: {len(ahead):,}"
    )
    print(
        f"delivered by the worker: {delivered:,} ({adapter.sent:,} adapter sends); still waiting: {waiting:,}"
    )
    once = decided == expected | ahead and delivered == len(sent_in_window) and adapter.sent == delivered
    print(
        f"every due reminder exactly once: {'yes' if once else 'NO'}; "
        f"goal tick p99 < 1000 ms: {'met' if p(0.99) < 1000 else 'NOT met'}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=31)
    parser.add_argument("--tick-minutes", type=int, default=5)
    args = parser.parse_args()
    name = f"tandem_bench_actions_{uuid.uuid4().hex[:8]}"
    await _admin(f'CREATE DATABASE "{name}"')
    url = make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    try:
        await _run(url, args.days, args.tick_minutes)
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
