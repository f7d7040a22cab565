"""Pulse instruments shipped as data (flows/content/instruments/*.yaml) and team-defined ones.

An instrument is components × items on one integer scale. A poll keeps a snapshot of its instrument
(`to_data`), so editing a file or a team's own poll never changes the meaning of answers already given.

A team's own polls come from its team file (flows/setup validates them with `team_poll_data` and stores
them with `save_team_polls`); the pulse flow finds a poll by the name people type (`find_instrument`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flows.content import CONTENT_DIR, _load
from storage import flow_state

DEFAULT_INSTRUMENT = "relational-trust"
MAX_SCALE_POINTS = 11
# The names people may type for a shipped instrument (`pulse start trust`, `pulse: {instrument: eta}`).
ALIASES = {
    "trust": "relational-trust",
    "rtsa": "relational-trust",
    "team": "effective-team",
    "eta": "effective-team",
}
# Where a team's own polls are kept (flow state), as validated instrument data.
TEAM_POLLS_FLOW, TEAM_POLLS_KEY = "pulse", "team-polls"


@dataclass(frozen=True)
class Item:
    id: str
    text: str
    low: str | None = None  # the anchor at the bottom of the scale, when the item has its own
    high: str | None = None


@dataclass(frozen=True)
class Component:
    id: str
    name: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Instrument:
    id: str
    name: str
    components: tuple[Component, ...]
    scale_min: int
    scale_max: int
    labels: tuple[tuple[int, str], ...] = ()
    short: str | None = None
    purpose: str | None = None
    instructions: str | None = None
    attribution: str | None = None
    source: str | None = None
    credit: str | None = None  # one short line under an invitation: who made it

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(item for component in self.components for item in component.items)

    def component_of(self, item_id: str) -> str:
        for component in self.components:
            if any(item.id == item_id for item in component.items):
                return component.id
        raise KeyError(item_id)

    def label(self, value: int) -> str | None:
        return dict(self.labels).get(value)

    def to_data(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "short": self.short,
            "purpose": self.purpose,
            "instructions": self.instructions,
            "attribution": self.attribution,
            "source": self.source,
            "credit": self.credit,
            "scale": {"min": self.scale_min, "max": self.scale_max, "labels": dict(self.labels)},
            "components": [
                {
                    "id": c.id,
                    "name": c.name,
                    "items": [
                        {
                            k: v
                            for k, v in (("id", i.id), ("text", i.text), ("low", i.low), ("high", i.high))
                            if v
                        }
                        for i in c.items
                    ],
                }
                for c in self.components
            ],
        }


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str | int) or not str(value).strip():
        raise ValueError(f"{where}: give a non-empty text")
    return " ".join(str(value).split())


def _optional(value: Any) -> str | None:
    return " ".join(str(value).split()) if value else None


def instrument_from_data(data: Any) -> Instrument:
    """Validate an instrument (a shipped file or a team's own poll); ValueError naming the field."""
    if not isinstance(data, Mapping):
        raise ValueError("an instrument is a mapping with id, name, scale and components")
    scale = data.get("scale") or {}
    if not isinstance(scale, dict):
        raise ValueError("scale: give min and max")
    try:
        low, high = int(scale.get("min", 1)), int(scale.get("max", 5))
    except (TypeError, ValueError):
        raise ValueError("scale: min and max must be whole numbers") from None
    if not 0 <= low < high or high - low + 1 > MAX_SCALE_POINTS:
        raise ValueError(f"scale: from min to max must be 2 to {MAX_SCALE_POINTS} points, min at least 0")
    labels: list[tuple[int, str]] = []
    for key, text in (scale.get("labels") or {}).items():
        point = int(key)
        if not low <= point <= high:
            raise ValueError(f"scale.labels: {point} is outside {low}–{high}")
        labels.append((point, _text(text, f"scale.labels.{point}")))
    components: list[Component] = []
    seen: set[str] = set()
    raw_components = data.get("components")
    if not isinstance(raw_components, list) or not raw_components:
        raise ValueError("components: give at least one component with items")
    for n, raw in enumerate(raw_components):
        if not isinstance(raw, dict):
            raise ValueError(f"components.{n}: a mapping with id, name and items")
        cid = _text(raw.get("id"), f"components.{n}.id")
        items: list[Item] = []
        raw_items = raw.get("items")
        if not isinstance(raw_items, list) or not raw_items:
            raise ValueError(f"components.{n}.items: give at least one item")
        for m, item in enumerate(raw_items):
            if not isinstance(item, dict):
                raise ValueError(f"components.{n}.items.{m}: a mapping with id and text")
            iid = _text(item.get("id"), f"components.{n}.items.{m}.id")
            if iid in seen or iid == "comment":
                raise ValueError(f"components.{n}.items.{m}.id: {iid!r} is used twice or reserved")
            seen.add(iid)
            items.append(
                Item(
                    iid,
                    _text(item.get("text"), f"components.{n}.items.{m}.text"),
                    _optional(item.get("low")),
                    _optional(item.get("high")),
                )
            )
        components.append(Component(cid, _text(raw.get("name"), f"components.{n}.name"), tuple(items)))
    if len({c.id for c in components}) != len(components):
        raise ValueError("components: each component needs its own id")
    return Instrument(
        id=_text(data.get("id", "custom"), "id"),
        name=_text(data.get("name"), "name"),
        components=tuple(components),
        scale_min=low,
        scale_max=high,
        labels=tuple(sorted(labels)),
        short=_optional(data.get("short")),
        purpose=_optional(data.get("purpose")),
        instructions=_optional(data.get("instructions")),
        attribution=_optional(data.get("attribution")),
        source=_optional(data.get("source")),
        credit=_optional(data.get("credit")),
    )


@cache
def instruments() -> dict[str, Instrument]:
    """The shipped instruments by id."""
    found = [instrument_from_data(_load(p)) for p in sorted((CONTENT_DIR / "instruments").glob("*.yaml"))]
    return {instrument.id: instrument for instrument in found}


# ---------------------------------------------------------------- team-defined polls


def _slug(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())[:48]


def team_poll_data(raw: Any, n: int) -> dict[str, Any]:
    """A team file's poll, with ids filled in, as instrument data; ValueError naming the field.

    `{name, scale: {min, max, labels: {1: ..., 5: ...}}, components: [{name, items: [text, ...]}]}`; ids
    are optional (taken from the names), an item may be a plain text or `{id, text, low, high}`."""
    where = f"polls: poll {n + 1}"
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: give a mapping with name, scale and components")
    unknown = sorted(set(raw) - {"id", "name", "short", "purpose", "instructions", "scale", "components"})
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {', '.join(unknown)}")
    name = str(raw.get("name") or "").strip()
    if not name:
        raise ValueError(f"{where}: name: give the poll a name")
    poll_id = _slug(str(raw.get("id") or name))
    if not poll_id or poll_id in instruments() or poll_id in ALIASES:
        raise ValueError(f"{where}: id: {poll_id!r} is empty or the name of a shipped instrument")
    where = f"polls: {poll_id}"
    if not isinstance(raw.get("scale"), dict) or not {"min", "max"} <= set(raw["scale"]):
        raise ValueError(f"{where}: scale: give min and max (and labels for the anchors)")
    components = []
    for c, component in enumerate(raw.get("components") or []):
        if isinstance(component, dict):
            cid = _slug(str(component.get("id") or component.get("name") or ""))
            items = []
            for i, item in enumerate(component.get("items") or []):
                if isinstance(item, str):
                    item = {"text": item}
                if isinstance(item, dict):
                    item = {"id": f"{cid}.{i + 1}", **item}
                items.append(item)
            component = {**component, "id": cid or f"c{c + 1}", "items": items}
        components.append(component)
    data = {**raw, "id": poll_id, "components": components}
    try:
        return instrument_from_data(data).to_data()
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


async def save_team_polls(
    session: AsyncSession, team_id: int, polls: list[dict[str, Any]], now: datetime
) -> None:
    """Replace the team's own polls (each already `team_poll_data`)."""
    await flow_state.save(session, TEAM_POLLS_FLOW, team_id, TEAM_POLLS_KEY, {"polls": polls}, now)


async def team_polls(session: AsyncSession, team_id: int) -> dict[str, Instrument]:
    data = await flow_state.load(session, TEAM_POLLS_FLOW, team_id, TEAM_POLLS_KEY)
    found = [instrument_from_data(p) for p in data.get("polls", [])]
    return {instrument.id: instrument for instrument in found}


async def find_instrument(session: AsyncSession, team_id: int, name: str) -> Instrument | None:
    """A shipped instrument (by id or alias) or one of the team's own polls; the default for ''."""
    key = (name.split()[0].lower() if name.strip() else DEFAULT_INSTRUMENT).strip()
    key = ALIASES.get(key, key)
    return instruments().get(key) or (await team_polls(session, team_id)).get(key)


async def known_names(session: AsyncSession, team_id: int) -> list[str]:
    return sorted({*instruments(), *ALIASES, *(await team_polls(session, team_id))})
