"""Teams activity benchmark: message activities at a fixed rate, Tandem next to a bare botbuilder echo bot.

    .venv/bin/python bench/teams_activity.py                # 5 s per run, Tandem on SQLite
    .venv/bin/python bench/teams_activity.py --seconds 3
    .venv/bin/python bench/teams_activity.py --backend both --repeat 3   # SQLite and PostgreSQL, 3 runs

What it does, in one run:
1. starts a fake Bot Connector (Bot Framework REST v3) in this process on loopback: every reply either bot
   sends lands here and is timestamped;
2. starts a **bare botbuilder echo bot** (botbuilder 4.17 `CloudAdapter.process` + `ActivityHandler`, the
   reply sent with `turn_context.send_activity` inside the turn, exactly the SDK sample) as a subprocess,
   and drives it with personal-chat message activities at 50 msg/s then 100 msg/s;
3. stops it and starts **`tandem serve`** as a subprocess (a fresh SQLite database, or a fresh PostgreSQL
   database with `--backend postgresql` (TANDEM_BENCH_POSTGRES_URL, created and dropped), no MICROSOFT_APP_ID:
   the unauthenticated loopback development mode), and drives it with the same activities (`help`, so each
   one runs the engine, records the event and writes the answer to the outbox, which the delivery worker
   sends to the fake connector) at 50 msg/s and 100 msg/s.

The load is open-loop: request i starts at t0 + i / rate whatever the earlier ones are doing. It spreads
over 100 personal chats (1 msg/s each at 100 msg/s, under Teams' ~7 sends/s per conversation), each
chat warmed up once before timing (Tandem stores a conversation reference on first contact).
Latency of one message = its reply reaching the connector − the moment its activity was posted (replies
are matched per conversation, in order). Goals (issue 4): Tandem's p99 no worse than the bare bot's at
50 msg/s, and under 1 s at 100 msg/s.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TENANT = "bench-tenant-0000"
BOT = {"id": "28:bench-bot", "name": "Tandem"}
CONVERSATIONS = 100


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ------------------------------------------------------------------ the bare echo bot (subprocess)


def echo_bot(port: int) -> None:
    """The botbuilder echo sample on CloudAdapter, no app id (no authentication), on loopback."""
    from aiohttp import web
    from botbuilder.core import ActivityHandler, MessageFactory, TurnContext
    from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication

    class Config:
        APP_ID = ""
        APP_PASSWORD = ""
        APP_TYPE = "MultiTenant"
        APP_TENANTID = ""

    class EchoBot(ActivityHandler):  # type: ignore[misc]
        async def on_message_activity(self, turn_context: TurnContext) -> None:
            await turn_context.send_activity(MessageFactory.text(f"Echo: {turn_context.activity.text}"))

    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(Config()))
    bot = EchoBot()

    async def messages(request: web.Request) -> web.Response:
        response: web.Response = await adapter.process(request, bot)
        return response

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", lambda _: web.Response(text="ok"))  # type: ignore[arg-type,return-value]
    web.run_app(app, host="127.0.0.1", port=port, print=None)


# ------------------------------------------------------------------ the fake connector and the load


class Connector:
    """Records when each conversation's replies arrive; answers like the Bot Connector."""

    def __init__(self) -> None:
        self.arrivals: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)
        self.waiting: dict[str, collections.deque[asyncio.Future[float]]] = collections.defaultdict(
            collections.deque
        )
        self.count = 0

    def expect(self, conversation: str) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiting[conversation].append(future)
        return future

    async def handle(self, request: Any) -> Any:
        from aiohttp import web

        now = time.perf_counter()
        path = request.path
        if request.can_read_body:
            await request.read()
        parts = path.split("/v3/conversations/", 1)
        if len(parts) == 2 and "/activities" in parts[1] and request.method == "POST":
            conversation = parts[1].split("/activities", 1)[0]
            from urllib.parse import unquote

            conversation = unquote(conversation).split(";messageid=")[0]
            self.count += 1
            queue = self.waiting.get(conversation)
            while queue:
                future = queue.popleft()
                if not future.done():
                    future.set_result(now)
                    break
            return web.json_response({"id": f"reply-{self.count}"}, status=201)
        if request.method == "POST" and path.rstrip("/").endswith("/v3/conversations"):
            return web.json_response({"id": f"a:created-{uuid.uuid4().hex}"}, status=201)
        return web.json_response({}, status=200)


def activity(service_url: str, n: int, text: str) -> dict[str, Any]:
    user = n % CONVERSATIONS
    return {
        "type": "message",
        "id": f"{int(time.time() * 1000)}{n:06d}{uuid.uuid4().hex[:6]}",
        "channelId": "msteams",
        "serviceUrl": service_url,
        "timestamp": "2026-11-23T10:00:00.000Z",
        "from": {"id": f"29:bench-user-{user}", "name": f"User {user}", "aadObjectId": f"aad-bench-{user}"},
        "recipient": BOT,
        "conversation": {"id": f"a:bench-chat-{user}", "conversationType": "personal", "tenantId": TENANT},
        "channelData": {"tenant": {"id": TENANT}},
        "locale": "en-US",
        "text": text,
    }


async def drive(
    session: Any, connector: Connector, bot_url: str, service_url: str, rate: float, seconds: float, text: str
) -> dict[str, Any]:
    """Post `rate × seconds` activities open-loop; wait (bounded) for every reply."""
    total = int(rate * seconds)
    latencies: list[float] = []
    acks: list[float] = []
    failed = 0
    t0 = time.perf_counter() + 0.05

    async def one(n: int) -> None:
        nonlocal failed
        await asyncio.sleep(max(0.0, t0 + n / rate - time.perf_counter()))
        body = activity(service_url, n, text)
        reply = connector.expect(body["conversation"]["id"])
        start = time.perf_counter()
        try:
            async with session.post(bot_url, json=body) as response:
                await response.read()
                acks.append(time.perf_counter() - start)
                if response.status >= 300:
                    failed += 1
                    reply.cancel()
                    return
        except Exception:
            failed += 1
            reply.cancel()
            return
        try:
            arrived = await asyncio.wait_for(asyncio.shield(reply), timeout=max(1.0, 15.0 - n / rate))
        except TimeoutError:
            return
        latencies.append(arrived - start)

    await asyncio.gather(*(one(n) for n in range(total)))
    return {
        "sent": total,
        "replied": len(latencies),
        "failed": failed,
        "p50": _pct(latencies, 50),
        "p99": _pct(latencies, 99),
        "ack_p99": _pct(acks, 99),
    }


def _pct(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index] * 1000


async def _wait_healthy(session: Any, url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{process.args!r} exited with {process.returncode}")
        try:
            async with session.get(url) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit(f"{url} never became healthy")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def run_bare(session: Any, connector: Connector, service_url: str, seconds: float) -> dict[int, Any]:
    port = _free_port()
    bare = subprocess.Popen([sys.executable, __file__, "--echo-bot", str(port)], cwd=ROOT)
    try:
        await _wait_healthy(session, f"http://127.0.0.1:{port}/healthz", bare)
        url = f"http://127.0.0.1:{port}/api/messages"
        await drive(session, connector, url, service_url, 50, CONVERSATIONS / 50, "warm up")
        results = {}
        for rate in (50, 100):
            await asyncio.sleep(1)
            results[rate] = await drive(session, connector, url, service_url, rate, seconds, "hello")
        return results
    finally:
        _stop(bare)


PG_ADMIN = os.environ.get(
    "TANDEM_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)


async def _pg_admin(sql: str) -> None:
    from sqlalchemy import text

    from storage.db import create_engine

    engine = create_engine(PG_ADMIN)
    try:
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(sql))
    finally:
        await engine.dispose()


async def run_tandem(
    session: Any, connector: Connector, service_url: str, seconds: float, backend: str = "sqlite"
) -> dict[int, Any]:
    from sqlalchemy.engine import make_url

    python = sys.executable
    pg_name = f"tandem_teams_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="tandem-bench-") as tmp:
        database_url = f"sqlite+aiosqlite:///{tmp}/tandem.db"
        if backend == "postgresql":
            await _pg_admin(f'CREATE DATABASE "{pg_name}"')
            database_url = make_url(PG_ADMIN).set(database=pg_name).render_as_string(hide_password=False)
        port = _free_port()
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("MICROSOFT_APP_", "SLACK_", "TANDEM_"))
        }
        env.update(
            TANDEM_DATABASE_URL=database_url,
            TANDEM_SECRET_KEY="tandem-bench-sealing-key",  # required with PostgreSQL (bot/sealing_key.py)
            TANDEM_HOST="127.0.0.1",
            TANDEM_PORT=str(port),
        )
        tandem = str(Path(python).with_name("tandem"))
        subprocess.run([tandem, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
        command = [tandem, "serve"]
        if os.environ.get("TANDEM_BENCH_PROFILE"):  # cProfile the server into that file
            command = [python, "-m", "cProfile", "-o", os.environ["TANDEM_BENCH_PROFILE"]]
            command += ["-m", "bot.cli", "serve"]
        server = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
        try:
            await _wait_healthy(session, f"http://127.0.0.1:{port}/healthz", server)
            url = f"http://127.0.0.1:{port}/api/messages"
            await drive(session, connector, url, service_url, 50, CONVERSATIONS / 50, "help")
            results = {}
            for rate in (50, 100):
                await asyncio.sleep(1)
                results[rate] = await drive(session, connector, url, service_url, rate, seconds, "help")
            return results
        finally:
            _stop(server)
            if backend == "postgresql":
                await _pg_admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


async def main(seconds: float, only: str | None = None, backends: tuple[str, ...] = ("sqlite",)) -> None:
    import aiohttp
    from aiohttp import web

    connector = Connector()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", connector.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    connector_port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", connector_port).start()
    service_url = f"http://127.0.0.1:{connector_port}/amer/"
    results: dict[tuple[str, int], dict[str, Any]] = {}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        if only != "tandem":
            for rate, figures in (await run_bare(session, connector, service_url, seconds)).items():
                results[("bare", rate)] = figures
        if only != "bare":
            for backend in backends:
                name = "tandem" if backends == ("sqlite",) else f"tandem-{backend[:2]}"
                for rate, figures in (
                    await run_tandem(session, connector, service_url, seconds, backend)
                ).items():
                    results[(name, rate)] = figures
    await runner.cleanup()

    print(
        f"{seconds:g} s per run, open-loop, {CONVERSATIONS} personal chats; latency = reply at the "
        "fake connector − activity posted"
    )
    print(f"{'bot':<10}{'rate/s':>7}{'sent':>7}{'replied':>9}{'p50 ms':>9}{'p99 ms':>9}{'ack p99 ms':>12}")
    for (bot, rate), r in results.items():
        print(
            f"{bot:<10}{rate:>7}{r['sent']:>7}{r['replied']:>9}{r['p50']:>9.1f}{r['p99']:>9.1f}"
            f"{r['ack_p99']:>12.1f}"
        )
    print(json.dumps({f"{b}@{r}": v for (b, r), v in results.items()}))
    if only:
        return
    bare50 = results[("bare", 50)]
    for name in sorted({bot for bot, _ in results if bot != "bare"}):
        tandem50, tandem100 = results[(name, 50)], results[(name, 100)]
        ratio = tandem50["p99"] / bare50["p99"]
        print(
            f"{name}: at 50 msg/s: Tandem p99 / bare p99 = {ratio:.2f} (goal ≤ 1.00: "
            f"{'met' if ratio <= 1 else 'NOT met'}); p50 ratio {tandem50['p50'] / bare50['p50']:.2f}"
        )
        complete = tandem100["replied"] == tandem100["sent"]
        print(
            f"{name}: at 100 msg/s: Tandem p99 = {tandem100['p99']:.0f} ms (goal < 1000 ms: "
            f"{'met' if tandem100['p99'] < 1000 and complete else 'NOT met'})"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each timed run")
    parser.add_argument("--only", choices=("bare", "tandem"), help="run one bot (no comparison)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--repeat", type=int, default=1, help="run the whole measurement N times")
    parser.add_argument("--echo-bot", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.echo_bot:
        echo_bot(args.echo_bot)
    else:
        chosen = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
        for run in range(args.repeat):
            if args.repeat > 1:
                print(f"run {run + 1} of {args.repeat} (load average {os.getloadavg()[0]:.2f})", flush=True)
            asyncio.run(main(args.seconds, args.only, chosen))
