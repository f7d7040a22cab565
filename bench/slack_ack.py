"""Slack ack latency: signed `block_actions` at a fixed rate against `tandem serve` and a bare slack-bolt app.

    .venv/bin/python bench/slack_ack.py                      # SQLite and PostgreSQL, 200 req/s for 5 s
    .venv/bin/python bench/slack_ack.py --rate 200 --seconds 5 --backend sqlite
    .venv/bin/python bench/slack_ack.py --repeat 5                     # five runs, each ratio and the median
    .venv/bin/python bench/slack_ack.py --percentiles                  # also p50 … p99.5 of each app

What it does, per backend, in one run:
1. starts a fake Slack Web API (aiohttp, its own process) that answers every method `ok` and takes the
   response_url posts;
2. starts `tandem serve` as a real subprocess (fresh SQLite file, or a fresh PostgreSQL database created and
   dropped here) with SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN and SLACK_API_URL pointing at the fake, and two
   bare slack-bolt AsyncApps (same aiohttp adapter, same signing secret) whose only listener acks: "bare"
   with bolt's defaults, the issue's reference, and "bare-pbr" with process_before_response=True, as
   Tandem's own AsyncApp (see BARE_APPS);
3. sends each of them `rate` signed block_actions a second for `seconds` seconds, in alternating one-second
   rounds (bare, bare-pbr, Tandem, bare, …) so that anything else running on the machine disturbs all three
   alike (open loop: request i leaves at t0 + i/rate whatever came back before), after a 1 s warm-up of
   each. Every request is a different click (its own message, user and action_ts), so Tandem records each:
   an idempotency row and an outbox reply in one transaction, then the reply through the response_url;
4. prints p50/p99/max ack latency (request sent → HTTP response read) for each, the p99 ratios, the number
   of errors (any non-200 or transport failure), how many clicks Tandem recorded, and each server's CPU
   time per request over the timed rounds (Tandem's includes its worker process and the work after the
   ack; that figure barely moves with other load on the machine, the latencies do).
Goal (issue 14): Tandem p99 ≤ 2 × bare-pbr's (printed as "vs pbr"), zero errors, on SQLite and
PostgreSQL. The ratio against bolt's default app (issue 3's goal: ≤ 1.5) is printed beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECRET = "bench-signing-secret-0123456789abcdef"
TOKEN = "xoxb-bench"
PG_ADMIN = os.environ.get(
    "TANDEM_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
PYTHON = sys.executable
# The bare slack-bolt apps beside Tandem, each with its `process_before_response`. "bare" is bolt's default
# and the reference (it answers at p50 ≈ 12 ms, p99 ≈ 15 ms at 200 req/s): the goal's ratio is
# against it. "bare-pbr" answers as soon as its listener returns, like Tandem's own AsyncApp: the stricter
# comparison, printed beside it.
BARE_APPS = {"bare": False, "bare-pbr": True}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------- roles run in their own process


def run_fake(port: int) -> None:
    from aiohttp import web

    counter = {"api": 0, "respond": 0}

    async def api(request: web.Request) -> web.Response:
        counter["api"] += 1
        method = request.match_info["method"]
        await request.read()
        if method == "auth.test":
            return web.json_response({"ok": True, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T111"})
        if method == "chat.postMessage":
            return web.json_response({"ok": True, "channel": "C1", "ts": f"{time.time():.6f}"})
        return web.json_response({"ok": True})

    async def respond(request: web.Request) -> web.Response:
        counter["respond"] += 1
        await request.read()
        return web.Response(text="ok")

    async def count(_: web.Request) -> web.Response:
        return web.json_response(counter)

    app = web.Application()
    app.router.add_post("/api/{method}", api)
    app.router.add_post("/respond/{name}", respond)
    app.router.add_get("/count", count)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def run_bare(port: int, api_url: str, *, before_response: bool) -> None:
    """A bare slack-bolt AsyncApp whose only listener acks, behind bolt's aiohttp adapter.

    `before_response=False` is bolt's default (the issue's bare app): bolt starts the listener and answers
    once `ack()` has been called, checking every 10 ms (slack_bolt/listener/asyncio_runner.py). With True
    (`process_before_response`, what Tandem's own AsyncApp uses) it answers as soon as the listener returns.
    """
    import re

    from aiohttp import web
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
    from slack_bolt.app.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    bolt = AsyncApp(
        signing_secret=SECRET,
        client=AsyncWebClient(token=TOKEN, base_url=api_url),
        process_before_response=before_response,
    )

    @bolt.action(re.compile(".*"))
    async def ack_only(ack: Any) -> None:
        await ack()

    async def events(request: web.Request) -> web.StreamResponse:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    async def health(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/slack/events", events)
    app.router.add_get("/healthz", health)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# ---------------------------------------------------------------- the driver


def signed(body: bytes) -> dict[str, str]:
    from slack_sdk.signature import SignatureVerifier

    ts = str(int(time.time()))
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body),
    }


def click(i: int, run: str, respond_url: str) -> bytes:
    payload = {
        "type": "block_actions",
        "user": {"id": f"W{i % 500:05d}", "username": "bench", "name": "bench", "team_id": "T111"},
        "api_app_id": "A111",
        "token": "verification_token",
        "container": {"type": "message", "message_ts": f"{run}.{i}", "channel_id": "C111"},
        "trigger_id": f"{run}.{i}.trigger",
        "team": {"id": "T111", "domain": "bench"},
        "channel": {"id": "C111", "name": "bench"},
        "response_url": respond_url,
        "actions": [
            {
                "action_id": "bench.vote",
                "block_id": "vote",
                "text": {"type": "plain_text", "text": "3"},
                "value": str(1 + i % 5),
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


async def wait_up(url: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up")
            await asyncio.sleep(0.1)


async def drive(url: str, rate: int, seconds: float, respond_url: str) -> tuple[list[float], int]:
    """Open-loop load; latencies in ms and the number of errors."""
    run = uuid.uuid4().hex[:8]
    total = int(rate * seconds)
    requests = []
    for i in range(total):
        body = click(i, run, respond_url)
        requests.append((body, signed(body)))
    latencies: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def one(body: bytes, headers: dict[str, str], at: float) -> None:
            nonlocal errors
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            started = time.perf_counter()
            try:
                async with http.post(url, data=body, headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        errors += 1
                        return
            except aiohttp.ClientError:
                errors += 1
                return
            latencies.append((time.perf_counter() - started) * 1000)

        t0 = time.perf_counter() + 0.2
        await asyncio.gather(*(one(b, h, t0 + i / rate) for i, (b, h) in enumerate(requests)))
    return latencies, errors


def _proc_cpu(pid: int) -> float:
    """CPU time (user + system) of one process, from /proc (Linux), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU time (user + system) of a server process and of its children (Tandem's worker process)."""
    children = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                children += _proc_cpu(int(child))
            except (FileNotFoundError, ProcessLookupError):
                continue
    return _proc_cpu(pid) + children, children


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (all cores, every process: the load around the apps)."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle, iowait = ticks[3], ticks[4]
    return (sum(ticks[:8]) - idle - iowait) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def pg_admin(sql: str) -> None:
    from sqlalchemy import text

    from storage.db import create_engine

    engine = create_engine(PG_ADMIN)
    try:
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(sql))
    finally:
        await engine.dispose()


async def recorded(database_url: str) -> int:
    from sqlalchemy import func, select

    from storage.db import create_engine
    from storage.models import ProcessedEvent

    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            stmt = (
                select(func.count())
                .select_from(ProcessedEvent)
                .where(ProcessedEvent.key.like("slack:click:%"))
            )
            return int((await connection.execute(stmt)).scalar_one())
    finally:
        await engine.dispose()


async def bench_backend(backend: str, rate: int, seconds: float) -> dict[str, Any]:
    from sqlalchemy.engine import make_url

    tmp = Path(tempfile.mkdtemp(prefix="tandem-ack-"))
    pg_name = f"tandem_ack_{uuid.uuid4().hex[:8]}"
    if backend == "sqlite":
        database_url = f"sqlite+aiosqlite:///{tmp / 'tandem.db'}"
    else:
        await pg_admin(f'CREATE DATABASE "{pg_name}"')
        database_url = make_url(PG_ADMIN).set(database=pg_name).render_as_string(hide_password=False)
    fake_port, tandem_port = free_port(), free_port()
    bare_ports = {name: free_port() for name in BARE_APPS}
    api_url = f"http://127.0.0.1:{fake_port}/api/"
    respond_url = f"http://127.0.0.1:{fake_port}/respond/bench"
    env = {
        **os.environ,
        "TANDEM_DATABASE_URL": database_url,
        "TANDEM_HOST": "127.0.0.1",
        "TANDEM_PORT": str(tandem_port),
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_API_URL": api_url,
        "TANDEM_SECRET_KEY": "bench-secret",
    }
    for key in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_APP_TOKEN", "MICROSOFT_APP_ID"):
        env.pop(key, None)
    script = str(Path(__file__).resolve())
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    fake = subprocess.Popen([PYTHON, script, "--role", "fake", "--port", str(fake_port)], **quiet)  # type: ignore[call-overload]
    apps = {
        name: subprocess.Popen(  # type: ignore[call-overload]
            [PYTHON, script, "--role", name, "--port", str(port), "--api", api_url], **quiet
        )
        for name, port in bare_ports.items()
    }
    apps["tandem"] = subprocess.Popen([str(ROOT / ".venv/bin/tandem"), "serve"], env=env, cwd=tmp, **quiet)  # type: ignore[call-overload]
    processes = [fake, *apps.values()]
    try:
        await wait_up(f"http://127.0.0.1:{fake_port}/count")
        for port in (*bare_ports.values(), tandem_port):
            await wait_up(f"http://127.0.0.1:{port}/healthz")
        targets = {name: f"http://127.0.0.1:{port}/slack/events" for name, port in bare_ports.items()}
        targets["tandem"] = f"http://127.0.0.1:{tandem_port}/slack/events"
        servers = {name: process.pid for name, process in apps.items()}
        results: dict[str, Any] = {
            name: {"latencies": [], "errors": 0, "cpu": 0.0, "worker_cpu": 0.0, "cores": 0.0, "wall": 0.0}
            for name in targets
        }
        for url in targets.values():
            await drive(url, rate, 1.0, respond_url)  # warm-up
        # alternate one-second rounds, so noise from anything else on the machine hits both apps alike
        rounds = max(1, round(seconds))
        for _ in range(rounds):
            for name, url in targets.items():
                before, busy_before, wall_before = (
                    cpu_seconds(servers[name]),
                    machine_busy(),
                    time.monotonic(),
                )
                latencies, errors = await drive(url, rate, seconds / rounds, respond_url)
                await asyncio.sleep(0.3)  # the work queued after the acks belongs to this round
                after = cpu_seconds(servers[name])
                results[name]["cores"] += machine_busy() - busy_before
                results[name]["wall"] += time.monotonic() - wall_before
                results[name]["latencies"] += latencies
                results[name]["errors"] += errors
                results[name]["cpu"] += after[0] - before[0]
                results[name]["worker_cpu"] += after[1] - before[1]
        expected = int(rate * seconds / rounds) * rounds + rate
        deadline = time.monotonic() + 30
        while (count := await recorded(database_url)) < expected and time.monotonic() < deadline:
            await asyncio.sleep(0.5)  # Tandem finishes the work queued after its acks
        results["recorded"], results["expected"] = count, expected
        return results
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        if backend == "postgresql":
            await pg_admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


PERCENTILES = (50, 75, 90, 95, 97, 98, 99, 99.5)


async def main_async(
    backends: list[str], rate: int, seconds: float, repeat: int = 1, percentiles: bool = False
) -> int:
    print(f"signed block_actions, open loop, {rate} req/s for {seconds:g} s each (after 1 s warm-up)")
    print("latency = request sent → HTTP response read (ms); fake Slack Web API for outbound")
    print("bare = slack-bolt AsyncApp with bolt's defaults (the issue's bare app);")
    print("bare-pbr = the same with process_before_response=True, as Tandem's own AsyncApp (stricter)")
    header = f"{'backend':<11}{'app':<9}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}{'errors':>7}"
    print(header + f"{'cpu ms/req':>11}{'cores busy':>11}{'p99 ratio':>10}{'vs pbr':>8}{'recorded':>12}")
    ok = True
    ratios: dict[str, list[tuple[float, float]]] = {backend: [] for backend in backends}
    for run in range(repeat):
        if repeat > 1:
            print(f"run {run + 1} of {repeat} (load average {os.getloadavg()[0]:.2f})", flush=True)
        ok = await one_run(backends, rate, seconds, ratios, percentiles) and ok
    if repeat > 1:  # one run's p99 is the 10th-slowest of 1,000 acks: the spread between runs is wide
        for backend, pairs in ratios.items():
            for label, values, limit in (
                ("", [a for a, _ in pairs], 1.5),
                (" vs bare-pbr", [b for _, b in pairs], 2.0),
            ):
                met = sum(1 for v in values if v <= limit)
                listed = ", ".join(f"{v:.2f}" for v in values)
                print(
                    f"{backend}: p99 ratios{label} {listed}; median {statistics.median(values):.2f};"
                    f" ≤ {limit:g} in {met} of {len(values)}"
                )
    print(
        "goal: Tandem p99 ≤ 2 × bare-pbr p99, zero errors —",
        "met" if ok else "NOT met",
        "in every run" if repeat > 1 else "",
    )
    return 0 if ok else 1


async def one_run(
    backends: list[str],
    rate: int,
    seconds: float,
    ratios: dict[str, list[tuple[float, float]]],
    percentiles: bool = False,
) -> bool:
    ok = True
    for backend in backends:
        r = await bench_backend(backend, rate, seconds)
        p99 = {name: pct(r[name]["latencies"], 0.99) for name in (*BARE_APPS, "tandem")}
        ratio, strict = p99["tandem"] / p99["bare"], p99["tandem"] / p99["bare-pbr"]
        for name in (*BARE_APPS, "tandem"):
            data = r[name]
            lat = data["latencies"]
            line = (
                f"{backend:<11}{name:<9}{pct(lat, 0.5):>8.1f}{p99[name]:>8.1f}"
                f"{max(lat) if lat else float('nan'):>8.1f}{data['errors']:>7}"
                f"{1000 * data['cpu'] / max(1, len(lat)):>11.2f}"
                f"{data['cores'] / max(1e-9, data['wall']):>11.2f}"
            )
            if name == "tandem":
                line += f"{ratio:>10.2f}{strict:>8.2f}{r['recorded']:>7}/{r['expected']}"
            print(line, flush=True)
            if percentiles:  # where the distributions part (the tail, or all of it)
                print(f"{'':<20}" + "  ".join(f"p{q:g} {pct(lat, q / 100):.2f}" for q in PERCENTILES))
            if name == "tandem" and data["worker_cpu"]:
                share = 1000 * data["worker_cpu"] / max(1, len(lat))
                print(f"{'':<20}(of which the worker process: {share:.2f} ms/req)")
        ratios[backend].append((ratio, strict))
        errors = sum(r[name]["errors"] for name in (*BARE_APPS, "tandem"))
        ok = ok and strict <= 2.0 and errors == 0
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--repeat", type=int, default=1, help="run it this many times; print each ratio and the median"
    )
    parser.add_argument(
        "--percentiles", action="store_true", help="also print p50 … p99.5 of each app's latencies"
    )
    parser.add_argument("--role", choices=["driver", "fake", *BARE_APPS], default="driver")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api", default="")
    args = parser.parse_args()
    if args.role == "fake":
        run_fake(args.port)
        return 0
    if args.role in BARE_APPS:
        run_bare(args.port, args.api, before_response=BARE_APPS[args.role])
        return 0
    if args.rate < 1 or args.rate > 2000 or args.seconds <= 0 or args.seconds > 60:
        parser.error("keep it bounded: 1 ≤ rate ≤ 2000, 0 < seconds ≤ 60")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if not 1 <= args.repeat <= 50:
        parser.error("keep it bounded: 1 ≤ repeat ≤ 50")
    return asyncio.run(main_async(backends, args.rate, args.seconds, args.repeat, args.percentiles))


if __name__ == "__main__":
    raise SystemExit(main())
