"""The pulse report's arithmetic, pure: SQL aggregates in, the figures people read out.

Means come from value counts (one GROUP BY), so they are exact. The rules that protect anonymity live here
too: `enough` (the poll's minimum) and `side_view` (labor vs management, only when each side shown has the
minimum *and* the members outside both sides are either none or also at the minimum: otherwise the overall
figure minus the two sides would give away their answers).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from flows.content.instruments import Instrument
from flows.core.catalog import Words
from storage.pulse import SideMean, ValueCount

SIDES = ("labor", "management")
ABSOLUTE_MIN_RESPONSES = 3
DEFAULT_MIN_RESPONSES = 5


@dataclass(frozen=True)
class ItemResult:
    id: str
    text: str
    component_id: str
    mean: float
    answers: int


@dataclass(frozen=True)
class ComponentResult:
    id: str
    name: str
    mean: float
    distribution: tuple[int, ...]  # answers per scale point, lowest first
    change: float | None = None  # since the previous poll of the same instrument
    targets: tuple[str, ...] = ()


@dataclass(frozen=True)
class SideView:
    shown: bool
    reason: str | None  # why it is hidden, in English (`reason_in` says it in another language)
    rows: tuple[tuple[str, float, float], ...] = ()  # component name, labor mean, management mean
    counts: tuple[int, int] = (0, 0)
    why: tuple[str, dict[str, int]] | None = None  # the reason as a catalog key and its values

    def reason_in(self, say: Words) -> str | None:
        return say(self.why[0], **self.why[1]) if self.why is not None else None


@dataclass(frozen=True)
class Report:
    instrument: Instrument
    respondents: int
    invited: int
    min_responses: int
    components: tuple[ComponentResult, ...]
    strongest: tuple[ItemResult, ...]
    weakest: tuple[ItemResult, ...]
    sides: SideView
    comments: tuple[str, ...]
    has_previous: bool
    follow_through: tuple[int, int] | None = None  # (met, due) this quarter: storage/action_items.py


def enough(respondents: int, min_responses: int) -> bool:
    return respondents >= max(min_responses, ABSOLUTE_MIN_RESPONSES)


def withheld_line(respondents: int, min_responses: int, say: Words | None = None) -> str:
    say = say or Words()
    return say("pulse.withheld.line", respondents=respondents, min_responses=min_responses)


def side_view_why(
    counts: Mapping[str | None, int], min_responses: int, recorded: bool = True
) -> tuple[str, dict[str, int]] | None:
    """None when the labor vs management view may be shown, else why not (a catalog key and its values)."""
    floor = max(min_responses, ABSOLUTE_MIN_RESPONSES)
    if not recorded:
        return "pulse.sides.not_recorded", {"floor": floor}
    labor, management = counts.get("labor", 0), counts.get("management", 0)
    rest = sum(n for side, n in counts.items() if side not in SIDES)
    if labor == management == 0 and rest:
        # the labels were erased at close because the view could not be shown
        return "pulse.sides.erased", {"floor": floor}
    if labor < floor or management < floor:
        return "pulse.sides.too_few", {"floor": floor, "labor": labor, "management": management}
    if 0 < rest < floor:
        return "pulse.sides.rest_too_few", {"floor": floor, "rest": rest}
    return None


def side_view_allowed(
    counts: Mapping[str | None, int], min_responses: int, recorded: bool = True
) -> tuple[bool, str | None]:
    """Whether the labor vs management view may be shown, and if not, the one line saying why (English)."""
    why = side_view_why(counts, min_responses, recorded)
    return (True, None) if why is None else (False, Words()(why[0], **why[1]))


def item_results(instrument: Instrument, counts: Iterable[ValueCount]) -> list[ItemResult]:
    totals: dict[str, list[int]] = {}
    for row in counts:
        total = totals.setdefault(row.item_id, [0, 0])
        total[0] += row.value * row.count
        total[1] += row.count
    results = []
    for component in instrument.components:
        for item in component.items:
            value_sum, answers = totals.get(item.id, [0, 0])
            if answers:
                results.append(ItemResult(item.id, item.text, component.id, value_sum / answers, answers))
    return results


def component_results(
    instrument: Instrument,
    counts: Sequence[ValueCount],
    previous: Mapping[str, float] | None = None,
    targets: Mapping[str, Sequence[str]] | None = None,
) -> list[ComponentResult]:
    points = instrument.scale_max - instrument.scale_min + 1
    out = []
    for component in instrument.components:
        distribution = [0] * points
        value_sum = answers = 0
        for row in counts:
            if row.component_id == component.id:
                distribution[row.value - instrument.scale_min] += row.count
                value_sum += row.value * row.count
                answers += row.count
        if not answers:
            continue
        mean = value_sum / answers
        change = mean - previous[component.id] if previous and component.id in previous else None
        out.append(
            ComponentResult(
                component.id,
                component.name,
                mean,
                tuple(distribution),
                change,
                tuple((targets or {}).get(component.id, ())),
            )
        )
    return out


def strongest_and_weakest(items: Sequence[ItemResult], n: int = 2) -> tuple[tuple[ItemResult, ...], ...]:
    """The `n` highest and `n` lowest items (instrument order breaks ties); never the same item twice.
    A strength scored above the lowest item and an area for growth below the highest: when every item
    scored the same there are neither, rather than a "strength" and a "weakness" with the same mean."""
    if not items:
        return (), ()
    low, high = min(r.mean for r in items), max(r.mean for r in items)
    order = {item.id: i for i, item in enumerate(items)}
    by_high = sorted((r for r in items if r.mean > low), key=lambda r: (-r.mean, order[r.id]))
    strongest = tuple(by_high[:n])
    rest = [r for r in items if r not in strongest and r.mean < high]
    weakest = tuple(sorted(rest, key=lambda r: (r.mean, order[r.id]))[:n])
    return strongest, weakest


def side_rows(instrument: Instrument, means: Iterable[SideMean]) -> tuple[tuple[str, float, float], ...]:
    table = {(m.side, m.component_id): m.mean for m in means}
    rows = []
    for component in instrument.components:
        labor, management = table.get(("labor", component.id)), table.get(("management", component.id))
        if labor is not None and management is not None:
            rows.append((component.name, labor, management))
    return tuple(rows)


def build_report(
    instrument: Instrument,
    *,
    respondents: int,
    invited: int,
    min_responses: int,
    counts: Sequence[ValueCount],
    side_counts: Mapping[str | None, int],
    sides_recorded: bool,
    side_means: Iterable[SideMean],
    previous: Mapping[str, float] | None,
    targets: Mapping[str, Sequence[str]] | None,
    comments: Sequence[str],
) -> Report:
    """The released report. Call only for a closed poll that has `enough` answers."""
    if not enough(respondents, min_responses):
        raise ValueError(withheld_line(respondents, min_responses))
    items = item_results(instrument, counts)
    strongest, weakest = strongest_and_weakest(items)
    why = side_view_why(side_counts, min_responses, sides_recorded)
    shown = why is None
    sides = SideView(
        shown,
        Words()(why[0], **why[1]) if why is not None else None,
        side_rows(instrument, side_means) if shown else (),
        (side_counts.get("labor", 0), side_counts.get("management", 0)) if shown else (0, 0),
        why,
    )
    return Report(
        instrument=instrument,
        respondents=respondents,
        invited=invited,
        min_responses=min_responses,
        components=tuple(component_results(instrument, counts, previous, targets)),
        strongest=strongest,
        weakest=weakest,
        sides=sides,
        comments=tuple(comments),
        has_previous=bool(previous),
    )


def fmt(value: float) -> str:
    return f"{value:.2f}"


def fmt_change(value: float | None, say: Words | None = None) -> str:
    if value is None:
        return "—"
    if abs(value) < 0.005:
        return (say or Words())("pulse.report.no_change")
    return f"{'+' if value > 0 else '−'}{abs(value):.2f}"
