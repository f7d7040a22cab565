"""What the pulse flow says: the invitation, the one form, the receipt, reminders and the report. Each card
is built in one reader's language (`say`: flows/core/catalog.py)."""

from __future__ import annotations

import random
from collections.abc import Sequence

from flows.content.instruments import Instrument
from flows.core.catalog import Words
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


def who_sees_what(min_responses: int, closes: str, say: Words) -> str:
    """The invitation's promise, as docs/privacy.md states it (the receipt says how: sealed, shuffled)."""
    return say("pulse.who_sees_what", closes=closes, min_responses=min_responses)


def invitation(
    instrument: Instrument,
    team: str,
    poll_id: int,
    closes: str,
    min_responses: int,
    say: Words,
    reminder: bool = False,
) -> Card:
    """Short and warm: what it is, why (the instrument's `purpose`), who sees what and when; then the button.
    Attribution and source citations stay in the small context line (`credit`)."""
    short = instrument.short or instrument.name
    n = len(instrument.items)
    if reminder:
        opening = say("pulse.invitation.reminder", team=team, short=short)
    else:
        opening = say("pulse.invitation.opening", team=team, short=short, count=n)
    elements: list[Element] = [Header(instrument.name), Text(opening)]
    if instrument.purpose and not reminder:
        elements.append(Text(instrument.purpose))
    elements.append(Text(who_sees_what(min_responses, closes, say)))
    answer = Button(
        say("pulse.invitation.answer_now"), ANSWER, str(poll_id), style="primary", opens_form=True
    )
    elements.append(Buttons((answer,)))
    small = [say("pulse.invitation.nothing_sent")]
    if reminder:
        small.append(say("pulse.invitation.why_reminded"))
    if instrument.credit or instrument.attribution:
        small.append(instrument.credit or instrument.attribution or "")
    elements.append(Context(" ".join(small)))
    return Card(summary=opening, elements=tuple(elements))


def answer_form(
    instrument: Instrument, poll_id: int, say: Words, initial: dict[str, str] | None = None
) -> Form:
    """The one form, for poll `poll_id` (its metadata). `initial`: the person's own sealed answers (item id →
    value, and the comment), when they open it again to change them."""
    labels = dict(instrument.labels)
    choices = tuple(
        Choice(
            str(value),
            say("pulse.form.choice", value=value, label=labels[value]) if value in labels else str(value),
        )
        for value in range(instrument.scale_min, instrument.scale_max + 1)
    )
    elements: list[Element] = []
    if instrument.instructions:
        elements.append(Context(instrument.instructions))
    if initial is not None:
        elements.append(Text(say("pulse.form.so_far")))
    for component in instrument.components:
        elements.append(Header(component.name))
        for item in component.items:
            prompt = item.text
            if item.low and item.high:
                prompt = say(
                    "pulse.form.item_with_scale",
                    text=item.text,
                    low=instrument.scale_min,
                    low_label=item.low,
                    high=instrument.scale_max,
                    high_label=item.high,
                )
            chosen = (initial or {}).get(item.id)
            elements.append(Question(item.id, prompt, choices, style="radio", initial=chosen))
    elements.append(
        TextInput(
            COMMENT,
            say("pulse.form.comment"),
            multiline=True,
            optional=True,
            initial=(initial or {}).get(COMMENT) or None,
            max_length=COMMENT_MAX,
        )
    )
    return Form(
        form_id=SUBMIT,
        title=instrument.short or say("pulse.form.title"),
        elements=tuple(elements),
        submit_label=say("pulse.form.submit"),
        metadata=str(poll_id),
    )


def receipt(instrument: Instrument, poll_id: int, closes: str, changed: bool, say: Words) -> Card:
    first = say("pulse.receipt.changed") if changed else say("pulse.receipt.first")
    return Card(
        summary=first,
        elements=(
            Text(say("pulse.receipt.text", first=first, instrument=instrument.name, closes=closes)),
            Buttons((Button(say("pulse.receipt.change_button"), CHANGE, str(poll_id), opens_form=True),)),
            Context(say("pulse.receipt.only_you")),
        ),
    )


def receipt_closed(instrument: Instrument, say: Words) -> Card:
    text = say("pulse.receipt.closed", instrument=instrument.name)
    return Card(summary=text, elements=(Text(text),))


def withheld(instrument: Instrument, respondents: int, min_responses: int, say: Words) -> Card:
    line = withheld_line(respondents, min_responses, say)
    return Card(
        summary=say("pulse.withheld.summary", instrument=instrument.name, line=line),
        elements=(
            Header(say("pulse.withheld.header", instrument=instrument.name)),
            Text(say("pulse.withheld.text", line=line)),
            Context(say("pulse.withheld.nothing_kept")),
        ),
    )


def _bar(distribution: Sequence[int], low: int) -> str:
    return " · ".join(f"{low + i}: {n}" for i, n in enumerate(distribution))


def report_card(report: Report, team: str, when: str, chart: str | None, seed: int, say: Words) -> Card:
    ins = report.instrument
    elements: list[Element] = [
        Header(say("pulse.report.header", instrument=ins.name)),
        Text(
            say(
                "pulse.report.intro",
                team=team,
                when=when,
                respondents=report.respondents,
                invited=report.invited,
            )
        ),
    ]
    pairs = []
    for c in report.components:
        change = say("pulse.report.change", change=fmt_change(c.change, say)) if report.has_previous else ""
        bar = _bar(c.distribution, ins.scale_min)
        pairs.append((c.name, say("pulse.report.component", mean=fmt(c.mean), change=change, bar=bar)))
    elements.append(Fields(tuple(pairs)))
    if report.follow_through is not None:  # beside Competence and Integrity: promises kept, team level
        met, due = report.follow_through
        elements.append(Text(say("actions.rate.report_line", met=met, due=due)))
    targets = [(c.name, t) for c in report.components for t in c.targets]
    for name, text in targets:
        moved = next(x.change for x in report.components if x.name == name)
        change = fmt_change(moved, say)
        elements.append(Text(say("pulse.report.target", name=name, text=text, change=change)))
    if report.strongest:
        items = "; ".join(say("pulse.report.item", text=i.text, mean=fmt(i.mean)) for i in report.strongest)
        elements.append(Text(say("pulse.report.strengths", items=items)))
    if report.weakest:
        items = "; ".join(say("pulse.report.item", text=i.text, mean=fmt(i.mean)) for i in report.weakest)
        elements.append(Text(say("pulse.report.growth", items=items)))
    if report.sides.shown:
        labor, management = report.sides.counts
        elements.append(Text(say("pulse.report.sides", labor=labor, management=management)))
        rows = tuple(
            (name, say("pulse.report.side_row", labor=fmt(a), management=fmt(b)))
            for name, a, b in report.sides.rows
        )
        elements.append(Fields(rows))
    elif report.sides.reason:
        elements.append(Context(report.sides.reason_in(say) or report.sides.reason))
    if report.comments:
        shuffled = list(report.comments)
        random.Random(seed).shuffle(shuffled)
        elements.append(Divider())
        elements.append(Context(say("pulse.report.comments")))
        elements.extend(Text(say("pulse.report.comment", comment=c)) for c in shuffled)
    if chart:
        elements.append(Image(chart, say("pulse.report.chart_alt", instrument=ins.name)))
    elements.append(Context(say("pulse.report.next", attribution=ins.attribution or "")))
    return Card(summary=say("pulse.report.summary", instrument=ins.name, team=team), elements=tuple(elements))
