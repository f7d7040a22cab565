"""Check-in benchmark (issue 16): a burst of invitations through Slack's rate limits, and a burst of runs
prepared on PostgreSQL.

    .venv/bin/python bench/checkins.py                    # both parts
    .venv/bin/python bench/checkins.py --part slack       # 100 teams × 20 members, one workspace, SQLite
    .venv/bin/python bench/checkins.py --part prepare     # 1,000 teams × 20 members, PostgreSQL

Part "slack": 100 teams of 20 members (2,000 people) in one Slack workspace, each team's check-in due at
the same minute T (the real clock: the next full minute at least 20 s ahead). The bot runs as `tandem
serve` runs it (the real ticker prepares the runs a day ahead, which here means at once; the real delivery
worker and the real Slack adapter send) against a fake Slack Web API on loopback that accepts 50
`chat.postMessage` a second per workspace and 1 a second per channel, and answers anything above that with
HTTP 429 and `Retry-After: 1`. Printed: the time from T to the last invitation accepted, against the
bound 2,000 / 50 = 40 s (goal ≤ 1.1×, 44 s); invitations lost (a person with none) and duplicated (a
person with two); the 429s answered.

Part "prepare": 1,000 teams of 20 members on PostgreSQL, all due at once: the time from the first tick
until all 20,000 invitations are in the outbox (goal ≤ 10 s).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import tempfile
import time
import uuid
from collections import Counter, deque
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from aiohttp import web
from sqlalchemy import event, func, insert, select, text
from sqlalchemy.engine import make_url

from bot import slack_mount
from bot.runtime import Runtime
from bot.settings import Settings
from flows.core.checkin_settings import LEAD, RUN_KIND, CheckinSettings
from flows.core.recurrence import to_key
from storage.calendar import WORKDAYS_SETTING
from storage.db import create_engine
from storage.migrate import upgrade
from storage.models import Identity, Membership, OutboxMessage, Person, Schedule, Team, TeamChannel

TZ = "America/Los_Angeles"
WORKSPACE = "T111"
MEMBERS = 20
PER_SECOND = 50  # chat.postMessage per workspace (Slack's special rate limit for bots)
PG_ADMIN = os.environ.get(
    "TANDEM_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)


# ---------------------------------------------------------------- a fake Slack with Slack's limits


class RateLimitedSlack:
    """auth.test, conversations.open and chat.postMessage; 50 posts a second per workspace (a sliding
    one-second window) and 1 a second per channel, else 429 with Retry-After: 1."""

    def __init__(self) -> None:
        self.accepted: deque[float] = deque()
        self.channel_last: dict[str, float] = {}
        self.posted: list[tuple[str, float, str]] = []  # (channel, when, text)
        self.limited = 0

    async def api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            args.update(await request.json())
        if method == "auth.test":
            return web.json_response({"ok": True, "user_id": "UBOT", "bot_id": "BBOT", "team_id": WORKSPACE})
        if method == "conversations.open":
            return web.json_response({"ok": True, "channel": {"id": f"D{args['users']}"}})
        if method != "chat.postMessage":
            return web.json_response({"ok": True})
        now = time.monotonic()
        channel = str(args.get("channel"))
        while self.accepted and self.accepted[0] <= now - 1.0:
            self.accepted.popleft()
        if len(self.accepted) >= PER_SECOND or now - self.channel_last.get(channel, -10.0) < 1.0:
            self.limited += 1
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"}
            )
        self.accepted.append(now)
        self.channel_last[channel] = now
        self.posted.append((channel, time.time(), str(args.get("text", ""))))
        return web.json_response({"ok": True, "channel": channel, "ts": f"{now:.6f}"})

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response({"posted": self.posted, "limited": self.limited})


def serve_fake(port_out: Connection) -> None:
    """The fake Slack in a process of its own: its clock and event loop are not the bot's, as Slack's are
    not (sharing the bot's loop, a stall of the bot would bunch arrivals the fake counts)."""

    async def main() -> None:
        fake = RateLimitedSlack()
        app = web.Application()
        app.router.add_post("/api/{method}", fake.api)
        app.router.add_get("/stats", fake.stats)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port_out.send(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        await asyncio.Event().wait()

    asyncio.run(main())


# ---------------------------------------------------------------- loading teams


async def load(url: str, teams: int, due_local: datetime, now: datetime) -> None:
    """`teams` teams of MEMBERS on Slack (one workspace), each with a Slack channel and a check-in schedule
    whose occurrence is `due_local` (wall clock in TZ); bulk inserts."""
    engine = create_engine(url)
    await upgrade(engine)
    settings = CheckinSettings(rrule="FREQ=WEEKLY;INTERVAL=2;BYDAY=MO", at=due_local.time()).to_data()
    fire_at = due_local.replace(tzinfo=ZoneInfo(TZ)).astimezone(UTC) - LEAD
    rule = f"FREQ=WEEKLY;INTERVAL=2;BYDAY={('MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU')[due_local.weekday()]}"
    async with engine.begin() as conn:
        for start in range(0, teams, 100):
            ids = range(start + 1, min(start + 100, teams) + 1)
            await conn.execute(
                insert(Team),
                [
                    {
                        "id": i,
                        "name": f"Team {i}",
                        "timezone": TZ,
                        "language": "en",
                        "settings": {WORKDAYS_SETTING: list(range(7))},  # due whatever day the bench runs
                        "created_at": now,
                    }
                    for i in ids
                ],
            )
            people = [(i, m, (i - 1) * MEMBERS + m + 1) for i in ids for m in range(MEMBERS)]
            await conn.execute(
                insert(Person),
                [{"id": p, "display_name": f"Person {p}", "created_at": now} for _, _, p in people],
            )
            await conn.execute(
                insert(Identity),
                [
                    {"person_id": p, "platform": "slack", "workspace": WORKSPACE, "user_id": f"U{p:06d}"}
                    for _, _, p in people
                ],
            )
            await conn.execute(
                insert(Membership),
                [
                    {
                        "team_id": i,
                        "person_id": p,
                        "side": "labor" if m % 2 == 0 else "management",
                        "co_chair": m < 2,
                        "position": m,
                        "joined_at": now,
                    }
                    for i, m, p in people
                ],
            )
            await conn.execute(
                insert(TeamChannel),
                [
                    {
                        "team_id": i,
                        "platform": "slack",
                        "workspace": WORKSPACE,
                        "address": f"C{i:05d}",
                        "name": None,
                    }
                    for i in ids
                ],
            )
            await conn.execute(
                insert(Schedule),
                [
                    {
                        "team_id": i,
                        "kind": RUN_KIND,
                        "rrule": rule,
                        "dtstart_local": to_key(due_local),
                        "timezone": TZ,
                        "settings": settings,
                        "enabled": True,
                        "next_occurrence_local": to_key(due_local),
                        "next_fire_at": fire_at,
                        "updated_at": now,
                    }
                    for i in ids
                ],
            )
    await engine.dispose()


async def _admin(sql: str) -> None:
    engine = create_engine(PG_ADMIN)
    try:
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(sql))
    finally:
        await engine.dispose()


# ---------------------------------------------------------------- part 1: through Slack's limits


async def slack_part(teams: int = 100) -> None:
    receive, send = multiprocessing.Pipe(duplex=False)
    fake_process = multiprocessing.Process(target=serve_fake, args=(send,), daemon=True)
    fake_process.start()
    port = int(receive.recv())
    stats_url = f"http://127.0.0.1:{port}/stats"

    async def fake_stats() -> tuple[list[tuple[str, float, str]], int]:
        async with aiohttp.ClientSession() as http, http.get(stats_url) as response:
            data = await response.json()
        return [(str(c), float(t), str(x)) for c, t, x in data["posted"]], int(data["limited"])

    workdir = Path(tempfile.mkdtemp(prefix="tandem-bench-checkins-"))
    url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    now = datetime.now(UTC)
    due = (now + timedelta(seconds=80)).replace(second=0, microsecond=0)  # a full minute, 20-80 s ahead
    due_local = due.astimezone(ZoneInfo(TZ)).replace(tzinfo=None)
    await load(url, teams, due_local, now)
    settings = Settings(
        TANDEM_DATABASE_URL=url,
        SLACK_BOT_TOKEN="xoxb-bench",
        SLACK_SIGNING_SECRET="bench-secret",
        SLACK_API_URL=f"http://127.0.0.1:{port}/api/",
        TANDEM_SECRET_KEY="bench",
    )
    runtime = Runtime(settings)
    slack = slack_mount.adapter(runtime)
    assert slack is not None
    runtime.add_adapter(slack)
    await runtime.start()
    expected = teams * MEMBERS
    try:
        prepared_at = None
        while time.time() < due.timestamp() + (300 if teams > 10 else 10):
            await asyncio.sleep(0.25)
            if prepared_at is None:
                async with runtime.sessions() as session:
                    rows = (
                        await session.execute(select(func.count()).select_from(OutboxMessage))
                    ).scalar_one()
                if rows >= expected:
                    prepared_at = time.time()
            if time.time() > due.timestamp() + 1:
                posted, _ = await fake_stats()
                if len({c for c, _, _ in posted}) >= expected:
                    break
        await asyncio.sleep(2)  # anything duplicated would show up now
        posted, limited = await fake_stats()
    finally:
        await runtime.stop()
        await slack.close()
        fake_process.terminate()
        fake_process.join()
    per_person = Counter(c for c, _, t in posted if c.startswith("D") and "check-in" in t)
    last = max(t for _, t, _ in posted) if posted else float("nan")
    bound = expected / PER_SECOND
    took = last - due.timestamp()
    lost = expected - len(per_person)
    duplicated = sum(n - 1 for n in per_person.values() if n > 1)
    async with runtime.sessions() as session:
        failed = (
            await session.execute(select(func.count()).where(OutboxMessage.status == "failed"))
        ).scalar_one()
    print(f"slack: {teams} teams × {MEMBERS} members in one workspace, due at one minute (SQLite)")
    ahead = due.timestamp() - (prepared_at or due.timestamp())
    print(f"  {expected} invitations in the outbox {ahead:.1f} s before the due minute")
    print(
        f"  last invitation {took:.1f} s after it; bound {bound:.0f} s; ratio {took / bound:.3f} (goal 1.1)"
    )
    print(f"  lost {lost}, duplicated {duplicated}, outbox rows given up {failed}, 429s answered {limited}")
    if lost:
        async with runtime.sessions() as session:
            stmt = select(
                OutboxMessage.status,
                OutboxMessage.last_error,
                OutboxMessage.next_attempt_at,
                OutboxMessage.platform,
            ).where(OutboxMessage.status != "sent")
            errors = Counter((await session.execute(stmt)).all())
        print(f"  not sent: {dict(errors.most_common(3))} due {due}")


# ---------------------------------------------------------------- part 2: preparing 1,000 teams' runs


async def prepare_part(teams: int = 1000, tickers: int = 1) -> None:
    """`tickers` engines tick at once, as that many replicas' tickers would (PostgreSQL hands each its own
    due schedules: FOR UPDATE SKIP LOCKED)."""
    name = f"tandem_bench_{uuid.uuid4().hex[:10]}"
    await _admin(f'CREATE DATABASE "{name}"')
    url = make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    try:
        now = datetime.now(UTC)
        due = (now + timedelta(hours=2)).replace(second=0, microsecond=0)  # invitations held until then
        await load(url, teams, due.astimezone(ZoneInfo(TZ)).replace(tzinfo=None), now)
        runtimes = [
            Runtime(Settings(TANDEM_DATABASE_URL=url, TANDEM_SECRET_KEY="bench")) for _ in range(tickers)
        ]

        statements = Counter[str]()  # every SQL statement the tickers send, by its first words

        def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            statements[" ".join(statement.split()[:3])] += 1

        for runtime in runtimes:
            event.listen(runtime.db.sync_engine, "before_cursor_execute", count)

        async def until_done(runtime: Runtime) -> int:
            ran = 0
            while (report := await runtime.engine.tick()).ran:
                ran += report.ran
            return ran

        load_before = os.getloadavg()[0]
        started, cpu = time.perf_counter(), time.process_time()
        ran = sum(await asyncio.gather(*(until_done(r) for r in runtimes)))
        took, cpu = time.perf_counter() - started, time.process_time() - cpu
        async with runtimes[0].sessions() as session:
            rows = (await session.execute(select(func.count()).select_from(OutboxMessage))).scalar_one()
        for runtime in runtimes:
            await runtime.db.dispose()
        print(f"prepare: {teams} teams × {MEMBERS} members due at once (PostgreSQL), {tickers} ticker(s)")
        print(
            f"  {ran} runs, {rows} invitations in the outbox {took:.2f} s after the first tick (goal ≤ 10 s)"
        )
        sent = sum(statements.values())
        print(
            f"  {sent} SQL statements ({sent / max(ran, 1):.2f} a run), this process's CPU "
            f"{cpu:.2f} s ({1000 * cpu / max(ran, 1):.2f} ms a run); "
            f"load average {load_before:.1f} → {os.getloadavg()[0]:.1f}"
        )
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", choices=["slack", "prepare", "both"], default="both")
    parser.add_argument("--teams", type=int, help="override the number of teams")
    parser.add_argument("--tickers", type=int, default=1, help="engines ticking at once (part prepare)")
    args = parser.parse_args()
    if args.part in ("slack", "both"):
        asyncio.run(slack_part(args.teams or 100))
    if args.part in ("prepare", "both"):
        asyncio.run(prepare_part(args.teams or 1000, args.tickers))


if __name__ == "__main__":
    main()
