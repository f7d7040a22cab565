"""Content shipped as data (YAML with attribution): norms, check-in prompts, meeting roles, small talk."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from storage.teams import TeamView

CONTENT_DIR = Path(__file__).parent


@dataclass(frozen=True)
class Norm:
    title: str
    text: str | None = None


@dataclass(frozen=True)
class NormPack:
    id: str
    name: str
    norms: tuple[Norm, ...]
    attribution: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class Role:
    id: str
    label: str


def _load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict):
        raise ValueError(f"{path.name}: expected a mapping")
    return data


def norm_pack_from_data(data: dict[str, Any]) -> NormPack:
    norms = tuple(Norm(title=str(n["title"]).strip(), text=(n.get("text") or None)) for n in data["norms"])
    if not norms:
        raise ValueError("a norms pack needs at least one norm")
    return NormPack(
        id=str(data.get("id", "custom")),
        name=str(data["name"]),
        norms=norms,
        attribution=data.get("attribution"),
        source=data.get("source"),
    )


@cache
def norm_packs() -> dict[str, NormPack]:
    packs = [norm_pack_from_data(_load(p)) for p in sorted((CONTENT_DIR / "norms").glob("*.yaml"))]
    return {pack.id: pack for pack in packs}


DEFAULT_NORMS_PACK = "seven-norms"


def team_norms(team: TeamView) -> NormPack:
    """The norms a team adopted: a shipped pack by id, or the team's own list."""
    settings = team.settings or {}
    custom = settings.get("custom_norms")
    if custom:
        return norm_pack_from_data(custom)
    return norm_packs().get(
        str(settings.get("norms_pack", DEFAULT_NORMS_PACK)), norm_packs()[DEFAULT_NORMS_PACK]
    )


@cache
def checkin_prompts() -> tuple[str, ...]:
    return tuple(str(p) for p in _load(CONTENT_DIR / "prompts" / "checkin.yaml")["prompts"])


@cache
def meeting_roles() -> tuple[Role, ...]:
    return tuple(
        Role(id=str(r["id"]), label=str(r["label"])) for r in _load(CONTENT_DIR / "roles.yaml")["roles"]
    )


@cache
def roles_why() -> str:
    return str(_load(CONTENT_DIR / "roles.yaml")["why"]).strip()


@dataclass(frozen=True)
class SmallTalk:
    """A kind of chat message that is not a command (a hello, a thank-you): its first words and the reply."""

    words: frozenset[str]
    reply: str


@cache
def small_talk() -> dict[str, SmallTalk]:
    data = _load(CONTENT_DIR / "prompts" / "small-talk.yaml")
    return {
        kind: SmallTalk(frozenset(str(w).lower() for w in entry["words"]), str(entry["reply"]).strip())
        for kind, entry in data.items()
    }
