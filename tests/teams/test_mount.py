"""How Teams is mounted: authenticated with an app id; without one, only on loopback and loudly."""

from __future__ import annotations

from aiohttp import web

from bot import teams_mount
from bot.runtime import Runtime
from bot.settings import Settings
from tests.teams.conftest import APP_ID


def _routes(settings: Settings) -> tuple[list[str], list[str]]:
    runtime = Runtime(settings)
    app = web.Application()
    teams_mount.mount(app, runtime)
    paths = [r.resource.canonical for r in app.router.routes() if r.resource is not None]
    return paths, sorted(runtime.adapters)


def test_with_an_app_id_teams_is_on(tmp_path: object) -> None:
    settings = Settings(MICROSOFT_APP_ID=APP_ID, MICROSOFT_APP_PASSWORD="x", TANDEM_HOST="0.0.0.0")  # type: ignore[call-arg]
    assert teams_mount.status(settings).startswith(f"Teams: on (bot {APP_ID}")
    assert _routes(settings) == (["/api/messages"], ["teams"])


def test_without_an_app_id_only_loopback_serves_unauthenticated_and_says_so() -> None:
    local = Settings()
    assert "UNAUTHENTICATED" in teams_mount.status(local)
    assert teams_mount.status(local).startswith("Teams: local development only.")
    assert "set MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD" in teams_mount.status(local)
    assert _routes(local) == (["/api/messages"], ["teams"])
    exposed = Settings(TANDEM_HOST="0.0.0.0")  # type: ignore[call-arg]
    assert "UNAUTHENTICATED" not in teams_mount.status(exposed)
    assert teams_mount.status(exposed).startswith("Teams: off. To turn it on, set MICROSOFT_APP_ID")
    assert _routes(exposed) == ([], [])
