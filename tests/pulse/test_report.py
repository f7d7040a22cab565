"""The report's figures against a hand-computed example; side suppression; the chart PNG."""

from __future__ import annotations

import io
from collections import Counter

from PIL import Image as PILImage

from flows.content.instruments import instrument_from_data, instruments
from flows.core import chart
from flows.core.chart import Axis, Series
from flows.pulse.chart import render_trend
from flows.pulse.report import build_report, fmt, fmt_change, side_view_allowed
from storage.pulse import SideMean, ValueCount

RTSA = instruments()["relational-trust"]
# Five people's answers, item by item (hand-computed figures below).
ANSWERS = {
    "respect.listen": [5, 5, 4, 4, 3],  # 21 / 5 = 4.2
    "respect.perspective": [3, 3, 3, 2, 2],  # 13 / 5 = 2.6
    "respect.disagreement": [1, 2, 2, 3, 2],  # 10 / 5 = 2.0
    **{i: [4] * 5 for i in ("regard.empathy", "regard.wellbeing", "regard.encouragement")},
    **{i: [3] * 5 for i in ("competence.follow_through", "competence.equity", "competence.confidence")},
    **{i: [5] * 5 for i in ("integrity.word", "integrity.values", "integrity.honesty")},
}


def _counts() -> list[ValueCount]:
    rows = []
    for item, values in ANSWERS.items():
        component = RTSA.component_of(item)
        rows += [ValueCount(component, item, v, n) for v, n in Counter(values).items()]
    return rows


def test_the_report_matches_a_hand_computed_example() -> None:
    report = build_report(
        RTSA,
        respondents=5,
        invited=6,
        min_responses=5,
        counts=_counts(),
        side_counts={None: 5},
        sides_recorded=False,
        side_means=[],
        previous={"respect": 3.5, "integrity": 4.0, "regard": 4.0},
        targets={"respect": ["We will work on improving how we handle disagreements."]},
        comments=["a", "b"],
    )
    by_id = {c.id: c for c in report.components}
    assert fmt(by_id["respect"].mean) == "2.93"  # 44 / 15
    assert by_id["respect"].distribution == (1, 5, 5, 2, 2)
    assert by_id["regard"].mean == 4.0 and by_id["regard"].distribution == (0, 0, 0, 15, 0)
    assert by_id["competence"].mean == 3.0 and by_id["integrity"].mean == 5.0
    assert fmt_change(by_id["respect"].change) == "−0.57"  # 2.9333 − 3.5
    assert fmt_change(by_id["integrity"].change) == "+1.00"
    assert fmt_change(by_id["regard"].change) == "no change"
    assert by_id["competence"].change is None  # not in the previous poll
    assert by_id["respect"].targets == ("We will work on improving how we handle disagreements.",)
    assert [i.id for i in report.strongest] == ["integrity.word", "integrity.values"]
    assert [i.id for i in report.weakest] == ["respect.disagreement", "respect.perspective"]
    assert [round(i.mean, 2) for i in report.weakest] == [2.0, 2.6]
    assert not report.sides.shown and report.sides.reason and "members on the team" in report.sides.reason


def test_side_view_suppression() -> None:
    assert side_view_allowed({"labor": 5, "management": 5}, 5) == (True, None)
    assert side_view_allowed({"labor": 5, "management": 5, None: 5}, 5) == (True, None)
    shown, why = side_view_allowed({"labor": 4, "management": 6}, 5)
    assert not shown and why and "(labor 4, management 6)" in why
    shown, why = side_view_allowed({"labor": 6, "management": 4}, 5)
    assert not shown and why and "(labor 6, management 4)" in why
    shown, why = side_view_allowed({"labor": 5, "management": 5, None: 2}, 5)
    assert not shown and why and "outside both sides (2)" in why  # else whole − sides = their answers
    assert side_view_allowed({"labor": 3, "management": 3}, 2) == (True, None)  # the floor is 3
    assert not side_view_allowed({"labor": 2, "management": 3}, 2)[0]
    assert not side_view_allowed({"labor": 9, "management": 9}, 5, recorded=False)[0]


def test_side_means_sit_side_by_side() -> None:
    report = build_report(
        RTSA,
        respondents=10,
        invited=12,
        min_responses=5,
        counts=_counts(),
        side_counts={"labor": 5, "management": 5},
        sides_recorded=True,
        side_means=[SideMean("labor", "respect", 4.0), SideMean("management", "respect", 2.5)],
        previous=None,
        targets=None,
        comments=[],
    )
    assert report.sides.shown and report.sides.rows == (("Mutual Respect", 4.0, 2.5),)
    assert report.sides.counts == (5, 5)


def test_the_chart_is_a_png_with_one_series_per_component() -> None:
    png = render_trend(
        RTSA,
        ["Jan 2026", "Apr 2026", "Jul 2026"],
        {
            "respect": [3.0, 3.2, 3.6],
            "regard": [4.0, 4.1, 4.0],
            "competence": [3.5, None, 3.9],
            "integrity": [2.9, 3.3, 3.8],
        },
        "Team: trust",
    )
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    with PILImage.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        description = image.text["Description"]  # type: ignore[attr-defined]
    assert description.removeprefix("Series: ").split("; ") == [c.name for c in RTSA.components]


def test_a_chart_drawn_twice_from_the_same_input_is_the_same_bytes() -> None:
    """Drawing is pure, which lets the suite draw each distinct chart once (tests/conftest.py)."""
    draw = chart.render_lines.__wrapped__  # type: ignore[attr-defined]  (the real one, not remembered)
    labels, series = ["Jan", "Apr"], [Series("Respect", [3.0, 3.5])]
    first = draw(labels, series, "Team: trust", Axis("Mean", 1, 5))
    assert draw(labels, series, "Team: trust", Axis("Mean", 1, 5)) == first
    assert draw(labels, series, "Team: other", Axis("Mean", 1, 5)) != first


def test_instruments_ship_as_data_with_attribution() -> None:
    rtsa, eta = instruments()["relational-trust"], instruments()["effective-team"]
    assert [len(c.items) for c in rtsa.components] == [3, 3, 3, 3]
    assert (rtsa.scale_min, rtsa.scale_max) == (1, 5)
    assert rtsa.label(1) == "not evident" and rtsa.label(5) == "consistently evident"
    assert len(eta.components) == 9 and (eta.scale_min, eta.scale_max) == (1, 7)
    assert all(i.low and i.high for i in eta.items)
    assert rtsa.attribution and "Bryk" in rtsa.attribution and eta.attribution and rtsa.purpose
    assert instrument_from_data(rtsa.to_data()) == rtsa


def test_a_team_defined_poll_is_validated() -> None:
    mine = instrument_from_data(
        {
            "id": "ours",
            "name": "Our check",
            "scale": {"min": 1, "max": 4},
            "components": [{"id": "talk", "name": "Talking", "items": [{"id": "t1", "text": "We listen"}]}],
        }
    )
    assert mine.items[0].id == "t1"
    for bad in (
        {
            "name": "x",
            "scale": {"min": 3, "max": 2},
            "components": [{"id": "a", "name": "A", "items": [{"id": "i", "text": "t"}]}],
        },
        {"name": "x", "components": []},
        {"name": "x", "components": [{"id": "a", "name": "A", "items": [{"id": "comment", "text": "t"}]}]},
    ):
        try:
            instrument_from_data(bad)
        except ValueError:
            continue
        raise AssertionError(f"accepted {bad}")


def test_when_every_item_scores_the_same_there_are_no_strengths_or_areas_for_growth() -> None:
    def report_for(answers: dict[str, int]) -> tuple[list[str], list[str]]:
        counts = [ValueCount(RTSA.component_of(i), i, answers.get(i, 3), 5) for i in ANSWERS]
        report = build_report(
            RTSA,
            respondents=5,
            invited=6,
            min_responses=5,
            counts=counts,
            side_counts={None: 5},
            sides_recorded=False,
            side_means=[],
            previous={},
            targets={},
            comments=[],
        )
        return [i.id for i in report.strongest], [i.id for i in report.weakest]

    assert report_for({}) == ([], [])  # all 3.0
    # one item above the rest: it is the only strength; the other eleven tie below it
    strong, weak = report_for({"integrity.honesty": 4})
    assert strong == ["integrity.honesty"] and weak == ["respect.listen", "respect.perspective"]
    # one item below the rest: the only area for growth
    assert report_for({"regard.empathy": 2}) == (
        ["respect.listen", "respect.perspective"],
        ["regard.empathy"],
    )
