"""`tandem teams-package`: write the Teams app package (manifest.json and two icons) for upload."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from bot.settings import Settings
from flows import default_flows


def chat_commands() -> list[tuple[str, str]]:
    """(usage, summary) of every chat command, `help` first: the list the engine's help card shows."""
    commands = [("help", "List every command with an example.")]
    for flow in default_flows():
        commands += [(c.usage, c.summary) for c in flow.commands()]
    return commands


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("teams-package", help="write the Microsoft Teams app package (zip) for upload")
    parser.add_argument("--out", default="tandem-teams.zip", help="where to write the zip")
    parser.add_argument("--app-id", default=None, help="the bot's Azure app id (default: MICROSOFT_APP_ID)")
    parser.add_argument("--version", default="0.1.0", help="the app package version")
    parser.add_argument("--website-url", default="https://tandem.invalid/", help="your district's page")
    parser.add_argument(
        "--privacy-url", default=None, help="the privacy statement (default: WEBSITE/privacy)"
    )
    parser.add_argument("--terms-url", default=None, help="the terms of use (default: WEBSITE/terms)")


def run(args: argparse.Namespace, settings: Settings) -> str:
    """Write the package; the line to print. ValueError with one sentence when it cannot."""
    from adapters.teams import build_manifest, write_package  # botbuilder: only for this command

    app_id = args.app_id or settings.microsoft_app_id
    site = args.website_url if args.website_url.endswith("/") else args.website_url + "/"
    if not app_id:
        raise ValueError("teams-package needs the bot's app id: set MICROSOFT_APP_ID or pass --app-id")
    try:
        manifest = build_manifest(
            app_id,
            chat_commands(),
            version=args.version,
            website_url=args.website_url,
            privacy_url=args.privacy_url or urljoin(site, "privacy"),
            terms_url=args.terms_url or urljoin(site, "terms"),
        )
    except ValueError:
        raise ValueError(f"MICROSOFT_APP_ID must be the app registration's GUID, not {app_id!r}") from None
    path = write_package(Path(args.out), manifest)
    return f"Wrote {path} (bot {app_id}); upload it in Teams: Apps → Manage your apps → Upload an app."
