"""The aiohttp application: health, metrics, images, and each platform's adapter, mounted alike."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Protocol

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from sqlalchemy import text

from adapters.base import Adapter
from adapters.images import ROUTE, Images
from adapters.local.chat import ChatAdapter
from bot import local_chat, metrics, slack_mount, teams_mount
from bot.runtime import Runtime
from bot.settings import Settings
from storage import lateness, outbox, schedules
from storage.db import connection_lost

RUNTIME = web.AppKey("runtime", Runtime)
log = logging.getLogger("tandem")


class Platform(Protocol):
    """A platform's settings side (bot/slack_mount.py, bot/teams_mount.py): everything that reads the
    platform's environment variables. The rest of the bot sees only the Adapter it builds."""

    def status(self, settings: Settings) -> str:
        """One line for the start-up banner: on, or off and how to turn it on."""
        ...

    def adapter(self, runtime: Runtime) -> Adapter | None:
        """The platform's adapter, or None when it is off."""
        ...

    def mount_off(self, app: web.Application, settings: Settings) -> None:
        """What the platform's routes answer when it is off (if they exist at all)."""
        ...


PLATFORMS: tuple[Platform, ...] = (slack_mount, teams_mount)


def platform_status(runtime: Runtime) -> list[str]:
    """One line per platform: on, or off and how to turn it on."""
    return [platform.status(runtime.settings) for platform in PLATFORMS]


async def healthz(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    try:
        async with runtime.db.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:
        return web.json_response({"status": "unavailable", "database": str(exc)[:200]}, status=503)
    platforms = {p: a for p, a in runtime.adapters.items() if p != "local"}
    body: dict[str, object] = {
        "status": "ok",
        "database": "ok",
        "platforms": sorted(platforms),
        "capabilities": {p: sorted(a.capabilities) for p, a in sorted(platforms.items())},
        "process": runtime.identity.as_json(),
    }
    try:
        body["holds"] = await _holds(runtime)
    except Exception as exc:  # the database went away between the two reads: still alive, say so
        body["holds"] = {"error": str(exc)[:200]}
    return web.json_response(body)


async def _holds(runtime: Runtime) -> dict[str, object]:
    """Who holds what: outbox rows on lease by process, and who claimed schedule occurrences lately."""
    async with runtime.sessions() as session:
        leases = await outbox.holders(session)
        claims = await schedules.recent_claimers(session, runtime.clock.now() - timedelta(days=1))
    return {
        "outbox_leases": [
            {
                "process": h.process,
                "rows": h.rows,
                "lease_until": h.lease_until.isoformat() if h.lease_until else None,
            }
            for h in leases
        ],
        "schedule_claims_last_day": [
            {"process": who, "occurrences": n, "latest": latest.isoformat()} for who, n, latest in claims
        ],
        "released_at_start": runtime.released_at_start,
    }


async def metrics_view(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    async with runtime.sessions() as session:
        counts = await outbox.counts_by_status(session)
        enabled = await schedules.count_enabled(session)
        now = runtime.clock.now()
        oldest_due = await lateness.oldest_due_message_seconds(session, now)
        schedule_late = await lateness.schedule_lateness_seconds(session, now)
    stats = runtime.worker.stats
    counters = {
        "ticks": runtime.ticker.ticks,
        "sent": stats.sent,
        "retried": stats.retried,
        "failed": stats.failed,
    }
    samples: list[tuple[str, str, str, dict[str, str], float]] = [
        ("tandem_outbox_messages", "gauge", "Outbox rows by status.", {"status": s}, float(counts.get(s, 0)))
        for s in ("pending", "sending", "sent", "failed")
    ]
    samples.append(("tandem_schedules_enabled", "gauge", "Enabled schedules.", {}, float(enabled)))
    samples.append(
        (
            "tandem_outbox_oldest_due_seconds",
            "gauge",
            "Seconds the longest-waiting due message has waited (0: none waiting).",
            {},
            oldest_due,
        )
    )
    samples.append(
        (
            "tandem_schedule_lateness_seconds",
            "gauge",
            "Seconds the most overdue enabled schedule is past its fire time (0: none late).",
            {},
            schedule_late,
        )
    )
    samples.append(
        (
            "tandem_scheduler_ticks_total",
            "counter",
            "Scheduler ticks run by this Tandem.",
            {},
            float(counters["ticks"]),
        )
    )
    for name in ("sent", "retried", "failed"):
        value = counters[name]
        samples.append(
            (
                "tandem_deliveries_total",
                "counter",
                "Delivery outcomes since the process that delivers (the worker process, if any) started.",
                {"outcome": name},
                float(value),
            )
        )
    return web.Response(text=metrics.render(samples), content_type="text/plain", charset="utf-8")


def mount_images(app: web.Application, images: Images) -> None:
    """`GET /images/<signature>/<name>`: stored images (charts), read from the database, for platforms that
    fetch images by URL; any replica serves any link. Only when TANDEM_PUBLIC_URL is set (no link is ever
    made otherwise); a wrong signature, or an image no longer stored, is a plain 404."""
    if not images.public_url:
        return

    async def image(request: web.Request) -> web.Response:
        found = await images.find(request.match_info["signature"], request.match_info["name"])
        if found is None:
            raise web.HTTPNotFound()
        return web.Response(
            body=found.content,
            headers={
                "Content-Type": found.media_type,
                "Cache-Control": "public, max-age=86400",
                "X-Content-Type-Options": "nosniff",
            },
        )

    app.router.add_get(ROUTE, image)


def mount_local_chat(app: web.Application, runtime: Runtime) -> None:
    """The local chat page at `/`, when bot/local_chat.py says it is on: the local adapter, mounted like any
    other; its clock control when the runtime runs on the page's clock."""
    on, loopback_only, _ = local_chat.chat_mode(runtime.settings)
    if not on:
        return
    clock = runtime.clock if isinstance(runtime.clock, local_chat.PageClock) else None

    async def jump() -> str:
        assert clock is not None
        async with runtime.sessions() as session:
            found = await local_chat.next_event(session)
            held = await outbox.next_held_at(session, [adapter.platform])
        if held is not None and held > clock.now() and (found is None or held < found[0]):
            # messages prepared ahead and held until their moment (a check-in's invitations at each
            # person's 9:00) come before the next schedule: stop there, or the jump would pass them by
            found = (held, local_chat.HELD, found[2] if found else local_chat.DEFAULT_ZONE)
        if found is None:
            return "Nothing is scheduled yet."
        when, kind, timezone = found
        await clock.move_to(runtime.sessions, when)
        await runtime.engine.tick()
        runtime.worker.wake()
        return local_chat.describe(when, kind, timezone)

    async def load_example() -> str:
        from flows.setup.team_file import import_team, parse_team_file

        spec = parse_team_file(local_chat.example_team())
        async with runtime.sessions() as session, session.begin():
            await import_team(session, spec, runtime.clock.now())
        return spec.name

    adapter = ChatAdapter(
        runtime.sessions,
        runtime.clock,
        runtime.images,
        loopback_only=loopback_only,
        jump=jump if clock is not None else None,
        load_example=load_example,
    )
    runtime.mount(app, adapter)


class _MalformedHttpFilter(logging.Filter):
    """aiohttp answers a request it cannot parse (a request line over 8 KB, a bad header) with a 400 itself,
    and logs a traceback for it: anyone could fill the log with those. Such a record becomes one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            record.msg, record.args = (
                "refused a malformed HTTP request: %s",
                (str(exc).splitlines()[0][:200],),
            )
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def _quiet_malformed_http() -> None:
    server_log = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, _MalformedHttpFilter) for f in server_log.filters):
        server_log.addFilter(_MalformedHttpFilter())


@web.middleware
async def database_unavailable(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """A request that meets a lost database connection is answered 503 with Retry-After, in one log line:
    the pool has dropped the dead connections by then, so the retry gets a fresh one."""
    try:
        return await handler(request)
    except Exception as exc:
        if not connection_lost(exc):
            raise
        log.warning(
            "%s %s: the database connection was lost (%s); answered 503",
            request.method,
            request.path,
            type(exc).__name__,
        )
        return web.json_response(
            {"error": "the database is unavailable right now; retry shortly"},
            status=503,
            headers={"Retry-After": "2"},
        )


def build_app(runtime: Runtime) -> web.Application:
    _quiet_malformed_http()
    app = web.Application(client_max_size=1024 * 1024, middlewares=[database_unavailable])
    app[RUNTIME] = runtime
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_view)
    mount_images(app, runtime.images)
    with slack_mount.hidden_from_bolt():  # Tandem's own installation store, never bolt's files
        for platform in PLATFORMS:
            adapter = platform.adapter(runtime)
            if adapter is None:
                platform.mount_off(app, runtime.settings)
            else:
                runtime.mount(app, adapter)
    mount_local_chat(app, runtime)
    return app
