"""What the pulse flow says: the invitation, the one form, the receipt, reminders and the report."""

from __future__ import annotations

import random
from collections.abc import Sequence

from flows.content.instruments import Instrument
from flows.core.types import (
    Button,
    Buttons,
    Card,
    Choice,
    Context,
    Divider,
    Element,
    Fields,
    Form,
    Header,
    Image,
    Question,
    Text,
    TextInput,
)
from flows.pulse.report import Report, fmt, fmt_change, withheld_line

ANSWER = "pulse.answer"
CHANGE = "pulse.change"
SUBMIT = "pulse.submit"  # the form's id; the poll is in its metadata
COMMENT = "comment"
COMMENT_MAX = 2000


def who_sees_what(min_responses: int, closes: str) -> str:
    """The invitation's promise, as docs/privacy.md states it (the receipt says how: sealed, shuffled)."""
    return (
        f"No one (co-chairs and database staff included) sees who answered what. Results go to all at "
        f"once after {closes}, if at least {min_responses} answer."
    )


def invitation(
    instrument: Instrument, team: str, poll_id: int, closes: str, min_responses: int, reminder: bool = False
) -> Card:
    """Short and warm: what it is, why (the instrument's `purpose`), who sees what and when; then the button.
    Attribution and source citations stay in the small context line (`credit`)."""
    short = instrument.short or instrument.name
    n = len(instrument.items)
    if reminder:
        opening = f"A gentle reminder: {team}'s {short} is still open, and your view counts."
    else:
        opening = f"{team}'s {short} is open: {n} questions, one form."
    elements: list[Element] = [Header(instrument.name), Text(opening)]
    if instrument.purpose and not reminder:
        elements.append(Text(instrument.purpose))
    elements.append(Text(who_sees_what(min_responses, closes)))
    elements.append(Buttons((Button("Answer now", ANSWER, str(poll_id), style="primary", opens_form=True),)))
    small = ["Nothing is sent until you press Submit."]
    if reminder:
        small.append("Only you get this, because you haven't answered yet; at most two reminders.")
    if instrument.credit or instrument.attribution:
        small.append(instrument.credit or instrument.attribution or "")
    elements.append(Context(" ".join(small)))
    return Card(summary=opening, elements=tuple(elements))


def answer_form(instrument: Instrument, poll_id: int, initial: dict[str, str] | None = None) -> Form:
    """The one form, for poll `poll_id` (its metadata). `initial`: the person's own sealed answers (item id →
    value, and the comment), when they open it again to change them."""
    labels = dict(instrument.labels)
    choices = tuple(
        Choice(
            str(value),
            f"{value} {labels[value]}" if value in labels else str(value),
        )
        for value in range(instrument.scale_min, instrument.scale_max + 1)
    )
    elements: list[Element] = []
    if instrument.instructions:
        elements.append(Context(instrument.instructions))
    if initial is not None:
        elements.append(Text("These are your answers so far. Change any of them and press Submit again."))
    for component in instrument.components:
        elements.append(Header(component.name))
        for item in component.items:
            prompt = item.text
            if item.low and item.high:
                prompt = (
                    f"{item.text} — {instrument.scale_min}: {item.low} · {instrument.scale_max}: {item.high}"
                )
            chosen = (initial or {}).get(item.id)
            elements.append(Question(item.id, prompt, choices, style="radio", initial=chosen))
    elements.append(
        TextInput(
            COMMENT,
            "Anything to add? (optional; shown without your name, but writing style can identify)",
            multiline=True,
            optional=True,
            initial=(initial or {}).get(COMMENT) or None,
            max_length=COMMENT_MAX,
        )
    )
    return Form(
        form_id=SUBMIT,
        title=instrument.short or "Pulse",
        elements=tuple(elements),
        submit_label="Submit",
        metadata=str(poll_id),
    )


def receipt(instrument: Instrument, poll_id: int, closes: str, changed: bool) -> Card:
    first = "Your answers are changed." if changed else "Thank you — your answers are in."
    return Card(
        summary=first,
        elements=(
            Text(
                f"{first} They stay sealed until the {instrument.name} closes on {closes}; then they are "
                "shuffled in with everyone's, without your name, and results go to everyone at once."
            ),
            Buttons((Button("Change my answers", CHANGE, str(poll_id), opens_form=True),)),
            Context("Only you can change your answers, until the poll closes."),
        ),
    )


def receipt_closed(instrument: Instrument) -> Card:
    text = f"The {instrument.name} has closed: your answers are counted and can no longer change."
    return Card(summary=text, elements=(Text(text),))


def withheld(instrument: Instrument, respondents: int, min_responses: int) -> Card:
    line = withheld_line(respondents, min_responses)
    return Card(
        summary=f"{instrument.name}: {line}",
        elements=(
            Header(f"{instrument.name} — closed"),
            Text(f"No results this time: {line}."),
            Context("Nothing was kept: the answers of a poll below the minimum are deleted at close."),
        ),
    )


def _bar(distribution: Sequence[int], low: int) -> str:
    return " · ".join(f"{low + i}: {n}" for i, n in enumerate(distribution))


def report_card(report: Report, team: str, when: str, chart: str | None, seed: int) -> Card:
    ins = report.instrument
    elements: list[Element] = [
        Header(f"{ins.name} — results"),
        Text(
            f"{team} · closed {when} · **{report.respondents} of {report.invited}** answered. "
            "Everyone on the team gets this report at the same moment."
        ),
    ]
    pairs = []
    for c in report.components:
        change = f" ({fmt_change(c.change)} since last time)" if report.has_previous else ""
        pairs.append((c.name, f"**{fmt(c.mean)}**{change}  ·  {_bar(c.distribution, ins.scale_min)}"))
    elements.append(Fields(tuple(pairs)))
    targets = [(c.name, t) for c in report.components for t in c.targets]
    for name, text in targets:
        moved = next(x.change for x in report.components if x.name == name)
        elements.append(Text(f"**Our target for {name}:** {text} — change: {fmt_change(moved)}"))
    if report.strongest:
        elements.append(
            Text(
                "**Strengths to celebrate:** "
                + "; ".join(f"{i.text} ({fmt(i.mean)})" for i in report.strongest)
            )
        )
    if report.weakest:
        elements.append(
            Text("**Areas for growth:** " + "; ".join(f"{i.text} ({fmt(i.mean)})" for i in report.weakest))
        )
    if report.sides.shown:
        labor, management = report.sides.counts
        elements.append(Text(f"**Labor ({labor}) and management ({management}), side by side:**"))
        elements.append(
            Fields(tuple((name, f"labor {fmt(a)} · management {fmt(b)}") for name, a, b in report.sides.rows))
        )
    elif report.sides.reason:
        elements.append(Context(report.sides.reason))
    if report.comments:
        shuffled = list(report.comments)
        random.Random(seed).shuffle(shuffled)
        elements.append(Divider())
        elements.append(
            Context(
                "Comments, without names and in random order. Writing style can identify: read them as "
                "the team's, not a person's."
            )
        )
        elements.extend(Text(f"“{c}”") for c in shuffled)
    if chart:
        elements.append(Image(chart, f"{ins.name}: component means over the team's polls"))
    elements.append(
        Context(
            "Next: celebrate the strengths, pick one or two areas for growth, and set a target "
            "(`pulse target <component> <what we will work on>`). " + (ins.attribution or "")
        )
    )
    return Card(summary=f"{ins.name} results for {team}", elements=tuple(elements))
