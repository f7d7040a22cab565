"""The `tandem` command."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bot import logs, teams_package
from bot.settings import Settings, SettingsError, load_settings

DESCRIPTION = """Tandem: a Slack and Microsoft Teams bot for school labor–management teams.

Settings come from environment variables (TANDEM_DATABASE_URL, TANDEM_HOST, TANDEM_PORT, SLACK_*,
MICROSOFT_APP_*); see the README."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tandem", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"tandem {version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = sub.add_parser("serve", help="run the bot: migrate the database, listen, tick, deliver")
    serve.add_argument(
        "--example", action="store_true", help="load the example team first when the database has no team"
    )
    db = sub.add_parser("db", help="database tasks")
    db_sub = db.add_subparsers(dest="db_command", metavar="TASK")
    db_sub.add_parser("upgrade", help="apply database migrations")
    demo = sub.add_parser("demo", help="run a scripted team through the flows on the local adapter")
    demo.add_argument("--dir", type=Path, help="keep the demo database here (default: a temporary directory)")
    team = sub.add_parser("team", help="declare or show a team")
    team_sub = team.add_subparsers(dest="team_command", metavar="TASK")
    team_import = team_sub.add_parser("import", help="create or update a team from a YAML file")
    team_import.add_argument("file", type=Path)
    team_show = team_sub.add_parser("show", help="show a team")
    team_show.add_argument("name")
    team_sub.add_parser("list", help="every team, its channels and what waits in its outbox")
    team_remove = team_sub.add_parser("remove", help="delete a team and everything of it (asks first)")
    team_remove.add_argument("name")
    team_remove.add_argument("--yes", action="store_true", help="do not ask")
    team_remove.add_argument(
        "--include-history", action="store_true", help="delete its released poll reports too"
    )
    outbox = sub.add_parser("outbox", help="messages not yet delivered: what waits, what failed and why")
    outbox.add_argument("--failed", action="store_true", help="only the failed ones")
    outbox.add_argument("--team", help="only this team's")
    outbox_sub = outbox.add_subparsers(dest="outbox_command", metavar="TASK")
    retry = outbox_sub.add_parser("retry", help="send failed messages again (after fixing the cause)")
    retry.add_argument("ids", nargs="*", type=int, metavar="ID")
    retry.add_argument("--all-failed", action="store_true", help="every failed message")
    sub.add_parser("doctor", help="check settings, database, platform tokens and the public URL")
    export = sub.add_parser(
        "export", help="export a team's poll aggregates, check-ins, action items or talking points"
    )
    export_sub = export.add_subparsers(dest="export_command", metavar="WHAT")
    export_pulse = export_sub.add_parser("pulse", help="a team's released trust-poll aggregates")
    export_pulse.add_argument("--team", required=True, help="the team's name")
    export_pulse.add_argument("--format", choices=["csv", "json"], default="csv")
    export_points = export_sub.add_parser(
        "talking-points", help="a team's talking points, approvals, decisions and their audit trail"
    )
    export_points.add_argument("--team", required=True, help="the team's name")
    export_points.add_argument("--format", choices=["json", "csv"], default="json")
    export_actions = export_sub.add_parser("actions", help="a team's action items with their history")
    export_actions.add_argument("--team", required=True, help="the team's name")
    export_actions.add_argument("--format", choices=["csv", "json"], default="csv")
    export_checkins = export_sub.add_parser("checkins", help="a team's closed check-ins (named answers)")
    export_checkins.add_argument("--team", required=True, help="the team's name")
    export_checkins.add_argument("--format", choices=["csv", "json"], default="csv")
    teams_package.add_parser(sub)
    return parser


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("tandem")
    except PackageNotFoundError:
        return "unknown (not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logs.configure()
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "demo":
        from bot.demo import run_demo

        logging.getLogger().setLevel(logging.WARNING)
        asyncio.run(run_demo(directory=args.dir))
        return 0
    try:
        settings = load_settings(complete=args.command in ("serve", "doctor"))
    except SettingsError as exc:
        if args.command == "doctor":
            print(f"FIX  settings: {exc}")
        print(f"tandem: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log_format)
    try:
        return asyncio.run(_run(args, settings, parser))
    except (_Refused, SettingsError) as exc:  # a setting only checkable at start-up (the sealing key)
        print(f"tandem: {exc}", file=sys.stderr)
        return 2


class _Refused(Exception):
    pass


async def _run(args: argparse.Namespace, settings: Settings, parser: argparse.ArgumentParser) -> int:
    from bot.scheduler import SchedulerLockError
    from flows.setup.team_file import TeamFileError

    try:
        if args.command == "serve":
            await _serve(settings, example=args.example)
        elif args.command == "db" and args.db_command == "upgrade":
            await _upgrade(settings)
        elif args.command == "team" and args.team_command in ("import", "show", "list", "remove"):
            print(await _team(settings, args))
        elif args.command == "outbox":
            print(await _outbox(settings, args, parser))
        elif args.command == "doctor":
            from bot import doctor

            report, fine = await doctor.run(settings)
            print(report)
            return 0 if fine else 1
        elif args.command == "export" and args.export_command:
            print(await _export(settings, args), end="")
        elif args.command == "teams-package":
            print(teams_package.run(args, settings))
        else:
            parser.parse_args([args.command, "--help"])
        return 0
    except (SchedulerLockError, TeamFileError, ValueError) as exc:
        raise _Refused(str(exc)) from None
    except OSError as exc:
        raise _Refused(f"cannot reach the database ({settings.database_url.split('@')[-1]}): {exc}") from None


async def _upgrade(settings: Settings) -> None:
    from storage.db import create_engine
    from storage.migrate import upgrade

    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    print("Database is up to date.")


async def _team(settings: Settings, args: argparse.Namespace) -> str:
    from bot import team_admin, team_file
    from flows.core.clock import SystemClock
    from storage.db import create_engine, session_factory
    from storage.migrate import upgrade

    # the whole file is read and checked first: a refused file opens (and creates) no database
    spec = team_file.load(args.file) if args.team_command == "import" else None
    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
        sessions = session_factory(engine)
        if spec is not None:
            return await team_file.import_file(sessions, SystemClock(), spec)
        if args.team_command == "list":
            return await team_admin.list_teams(sessions)
        if args.team_command == "remove":
            return await team_admin.remove(
                sessions, args.name, include_history=args.include_history, confirm=_asker(args.yes)
            )
        return await team_file.show(sessions, args.name)
    finally:
        await engine.dispose()


def _asker(yes: bool) -> Callable[[str], bool]:
    def confirm(question: str) -> bool:
        if yes:
            return True
        if not sys.stdin.isatty():
            raise ValueError(f"{question} Run again with --yes to confirm (no terminal to ask on).")
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")

    return confirm


async def _outbox(settings: Settings, args: argparse.Namespace, parser: argparse.ArgumentParser) -> str:
    from bot import outbox_report
    from flows.core.clock import SystemClock
    from storage.db import create_engine, session_factory
    from storage.migrate import upgrade

    if args.outbox_command == "retry" and bool(args.ids) == bool(args.all_failed):
        parser.error("outbox retry: give message ids, or --all-failed")
    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
        sessions = session_factory(engine)
        now = SystemClock().now()
        if args.outbox_command == "retry":
            return await outbox_report.retry(sessions, now, None if args.all_failed else list(args.ids))
        return await outbox_report.report(sessions, now, failed_only=args.failed, team=args.team)
    finally:
        await engine.dispose()


async def _export(settings: Settings, args: argparse.Namespace) -> str:
    from bot.actions_export import export_actions
    from bot.checkins_export import export_checkins
    from bot.points_export import export_talking_points
    from bot.pulse_export import export_pulse
    from storage.db import create_engine, session_factory
    from storage.migrate import upgrade

    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
        exporters = {
            "pulse": export_pulse,
            "checkins": export_checkins,
            "actions": export_actions,
            "talking-points": export_talking_points,
        }
        return await exporters[args.export_command](session_factory(engine), args.team, args.format)
    finally:
        await engine.dispose()


async def _serve(settings: Settings, *, example: bool = False) -> None:
    from aiohttp import web

    from bot import local_chat
    from bot.app import build_app, platform_status
    from bot.runtime import Runtime
    from storage import teams
    from storage.migrate import upgrade

    chat_on, _, chat_line = local_chat.chat_mode(settings)
    clock = local_chat.PageClock() if chat_on else None
    runtime = Runtime(settings, clock=clock)
    await upgrade(runtime.db)
    async with runtime.sessions() as session:
        no_team = not await teams.all_team_names(session)
    if example and no_team:
        await _load_example(runtime)
        no_team = False
    if clock is not None:
        await clock.load(runtime.sessions)
    runner = web.AppRunner(build_app(runtime))
    await runner.setup()
    try:  # the port first: a process that cannot serve must not start ticking and sending either
        await web.TCPSite(runner, settings.host, settings.port).start()
    except OSError as exc:
        await runner.cleanup()
        await runtime.db.dispose()
        raise _Refused(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}") from None
    try:
        await runtime.start()
    except BaseException:  # another scheduler on this SQLite file, the database gone: stop what started
        await runner.cleanup()
        await runtime.stop()
        raise
    print(
        f"Tandem is running on http://{settings.host}:{settings.port} (health: /healthz, metrics: /metrics)"
    )
    print(f"Database: {settings.database_url.split('@')[-1]}")
    for line in platform_status(runtime):
        print(line)
    print(chat_line)
    if chat_on and no_team:
        print("There is no team yet: the page offers the example team (or run `tandem serve --example`).")
    print("Without any platform you can still try the flows: `tandem demo`. Stop with Ctrl-C.", flush=True)
    # Everything loaded so far (SQLAlchemy, botbuilder, slack-bolt: a large heap) lives as long as the
    # process: out of the garbage collector's sight, its full collections stop pausing the acks.
    gc.freeze()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        print("Stopping…", flush=True)
        await runner.cleanup()
        await runtime.stop()


async def _load_example(runtime: Any) -> None:
    from bot import local_chat
    from flows.setup.team_file import import_team, parse_team_file

    spec = parse_team_file(local_chat.example_team())
    async with runtime.sessions() as session, session.begin():
        await import_team(session, spec, runtime.clock.now())
    print(f"Loaded the example team {spec.name!r} (its people exist only on the local chat page).")


if __name__ == "__main__":
    raise SystemExit(main())
