"""The 7-point decision-making continuum (flows/content/decisions/continuum.yaml), as data."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

PATH = Path(__file__).parent / "decisions" / "continuum.yaml"


@dataclass(frozen=True)
class Level:
    level: int
    label: str  # "MY Decision", "JOINT Decision", "YOUR Decision"
    text: str | None = None  # the source's second line, if it has one

    @property
    def wording(self) -> str:
        """The source's wording: "MY Decision — I will CONSULT with you before I decide." """
        return f"{self.label} — {self.text}" if self.text else self.label

    @property
    def owner(self) -> str:
        """Whose decision it is, read from the side whose "MY" it is: my, joint or your."""
        return self.label.split()[0].lower()


@dataclass(frozen=True)
class Continuum:
    name: str
    attribution: str
    source: str
    levels: tuple[Level, ...]

    def level(self, number: int) -> Level | None:
        return next((lv for lv in self.levels if lv.level == number), None)


@cache
def continuum() -> Continuum:
    with PATH.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    levels = tuple(Level(int(item["level"]), str(item["label"]), item.get("text")) for item in data["levels"])
    if [lv.level for lv in levels] != list(range(1, 8)):
        raise ValueError("continuum.yaml: the seven levels, numbered 1 to 7 in order")
    return Continuum(str(data["name"]), str(data["attribution"]), str(data["source"]), levels)
