"""`tandem teams-package`: the Teams app zip, its manifest agreeing with the code."""

from __future__ import annotations

import argparse
import json
import struct
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.teams.manifest import MAX_COMMANDS
from bot.settings import Settings
from bot.teams_package import add_parser, chat_commands, run
from flows import default_flows
from flows.core.clock import ManualClock
from flows.core.engine import Engine
from tests.teams.conftest import APP_ID


def _package(tmp_path: Path, **env: str) -> tuple[dict, zipfile.ZipFile]:  # type: ignore[type-arg]
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["teams-package", "--out", str(tmp_path / "tandem.zip")])
    line = run(args, Settings(**{"MICROSOFT_APP_ID": APP_ID, **env}))  # type: ignore[arg-type]
    assert line.startswith("Wrote ")
    package = zipfile.ZipFile(tmp_path / "tandem.zip")
    return json.loads(package.read("manifest.json")), package


def test_the_manifest_names_the_bot_its_scopes_and_the_commands_the_engine_knows(tmp_path: Path) -> None:
    manifest, package = _package(tmp_path)
    assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
    assert manifest["id"] == APP_ID
    [bot] = manifest["bots"]
    assert bot["botId"] == APP_ID and bot["scopes"] == ["personal", "team", "groupChat"]
    listed = [c["title"] for c in bot["commandLists"][0]["commands"]]
    engine = Engine(None, ManualClock(datetime(2026, 1, 1, tzinfo=UTC)), default_flows())  # type: ignore[arg-type]
    help_card = engine.help_card("")
    shown = [pair[0].split()[0] for pair in help_card.elements[2].pairs]  # type: ignore[union-attr]
    # Teams suggests at most 10 commands (its limit): the help card's first ones, in its order; `help`
    # lists them all, and every command works whether Teams suggests it or not
    assert listed == shown[:MAX_COMMANDS] and listed[0] == "help"
    assert len(listed) == min(len(shown), MAX_COMMANDS)
    assert all(0 < len(c["description"]) <= 128 for c in bot["commandLists"][0]["commands"])
    assert listed == [usage.split()[0] for usage, _ in chat_commands()][:MAX_COMMANDS]


def test_the_icons_are_pngs_of_the_sizes_teams_requires(tmp_path: Path) -> None:
    _, package = _package(tmp_path)
    for name, size in (("color.png", 192), ("outline.png", 32)):
        data = package.read(name)
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", data[16:24]) == (size, size)


def test_the_package_needs_a_guid_app_id(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["teams-package", "--out", str(tmp_path / "x.zip")])
    with pytest.raises(ValueError, match="MICROSOFT_APP_ID"):
        run(args, Settings())
    with pytest.raises(ValueError, match="GUID"):
        run(args, Settings(MICROSOFT_APP_ID="not-a-guid"))  # type: ignore[call-arg]
