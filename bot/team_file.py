"""`tandem team import FILE` and `tandem team show NAME`: a district scripts its teams."""

from __future__ import annotations

from pathlib import Path

import yaml
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.local.render import render_text
from flows.core.clock import Clock
from flows.setup.team_file import TeamFile, TeamFileError, describe_team, import_team, parse_team_file
from storage import teams

MAX_TEAM_FILE_BYTES = 256 * 1024  # a team of hundreds fits in a few kilobytes


def read_team_file(path: Path) -> object:
    """The decoded YAML; TeamFileError (one line) for a missing, unreadable, oversized or invalid file."""
    if path.is_dir():
        raise TeamFileError(f"{path} is a folder; give the team file (a .yaml file) itself")
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_TEAM_FILE_BYTES + 1)
    except FileNotFoundError:
        raise TeamFileError(f"no such file: {path}") from None
    except OSError as exc:
        raise TeamFileError(f"cannot read {path}: {exc.strerror}") from None
    if len(raw) > MAX_TEAM_FILE_BYTES:
        raise TeamFileError(f"{path} is over {MAX_TEAM_FILE_BYTES // 1024} KB; a team file is a few KB")
    try:
        return yaml.safe_load(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise TeamFileError(f"{path} is not UTF-8 text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise TeamFileError(f"{path} is not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None


def load(path: Path) -> TeamFile:
    """Read and validate the whole file, before any database is opened (a refused file creates nothing)."""
    return parse_team_file(read_team_file(path))


async def import_file(
    sessions: async_sessionmaker[AsyncSession], clock: Clock, source: Path | TeamFile
) -> str:
    """Write a team file (a path, or one `load` validated) in one transaction; a summary line."""
    spec = load(source) if isinstance(source, Path) else source
    async with sessions() as session, session.begin():
        existed = await teams.find_team(session, spec.name) is not None
        await import_team(session, spec, clock.now())
    verb = "Updated" if existed else "Created"
    chairs = sum(1 for m in spec.members if m.co_chair)
    return (
        f"{verb} team {spec.name!r}: {len(spec.members)} members ({chairs} co-chairs), "
        f"{len(spec.channels)} channel(s), meeting {'scheduled' if spec.meeting else 'not scheduled'}."
    )


async def show(sessions: async_sessionmaker[AsyncSession], name: str) -> str:
    async with sessions() as session:
        team = await teams.find_team(session, name)
        if team is None:
            known = ", ".join(await teams.all_team_names(session)) or "none yet"
            raise TeamFileError(f"no team named {name!r} (teams: {known})")
        return render_text(await describe_team(session, team))
