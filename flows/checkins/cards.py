"""What the check-in flow says: the invitation, the one form, the receipt, the reminder and the digest.
Each card is built in one reader's language (`say`: flows/core/catalog.py); the prompts are the team's
own words or the shipped library's (flows/content/prompts/checkin.yaml)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flows.core.catalog import Words
from flows.core.types import (
    Button,
    Buttons,
    Card,
    Choice,
    Context,
    Element,
    Form,
    Header,
    Image,
    Question,
    Text,
    TextInput,
)

ANSWER = "checkin.answer"  # the invitation's and the reminder's button; the run is in its value
SUBMIT = "checkin.submit"  # the form's id; the run is in its metadata
MOOD = "mood"
# the scale's values with their labels' catalog keys
MOOD_SCALE = (
    (1, "checkins.mood.1"),
    (2, "checkins.mood.2"),
    (3, "checkins.mood.3"),
    (4, "checkins.mood.4"),
    (5, "checkins.mood.5"),
)
ANSWER_MAX = 1500


def question_id(index: int) -> str:
    return f"q{index + 1}"


def _button(run_id: int, say: Words, *, change: bool = False) -> Buttons:
    label = say("checkins.button.change") if change else say("checkins.button.answer")
    return Buttons((Button(label, ANSWER, str(run_id), style="primary", opens_form=True),))


def invitation(
    team: str, run_id: int, prompts: Sequence[str], mood: bool, min_moods: int, closes: str, say: Words
) -> Card:
    """Why, what is asked, who sees what (named answers; the mood only as an average), the button."""
    opening = say("checkins.invite.opening", team=team)
    elements: list[Element] = [Header(say("checkins.invite.header", team=team)), Text(opening)]
    elements.append(Text(say("checkins.invite.not_anonymous", closes=closes)))  # who sees what, first
    if mood:
        elements.append(Text(say("checkins.invite.mood", min=min_moods)))
    elements.append(Text("\n".join(f"• {p}" for p in prompts)))
    elements.append(_button(run_id, say))
    elements.append(Context(say("checkins.invite.why", team=team)))
    return Card(summary=opening, elements=tuple(elements))


def reminder(team: str, run_id: int, answered: int, asked: int, closes: str, say: Words) -> Card:
    """Counts, never names."""
    line = say("checkins.reminder", team=team, closes=closes, answered=answered, asked=asked)
    return Card(
        summary=line,
        elements=(Text(line), _button(run_id, say), Context(say("checkins.reminder.why"))),
    )


def answer_form(
    run_id: int,
    prompts: Sequence[str],
    mood: bool,
    say: Words,
    answers: Sequence[str | None] = (),
    mood_value: int | None = None,
) -> Form:
    """One text box per question (each optional; one answer or a mood is enough), and the mood scale."""
    elements: list[Element] = [Context(say("checkins.form.named"))]
    for i, prompt in enumerate(prompts):
        initial = answers[i] if i < len(answers) else None
        elements.append(
            TextInput(
                question_id(i),
                prompt,
                multiline=True,
                optional=True,
                initial=initial or None,
                max_length=ANSWER_MAX,
            )
        )
    if mood:
        choices = tuple(Choice(str(v), say(key)) for v, key in MOOD_SCALE)
        elements.append(
            Question(
                MOOD,
                say("checkins.form.mood"),
                choices,
                style="scale",
                optional=True,
                initial=str(mood_value) if mood_value is not None else None,
            )
        )
    return Form(
        form_id=SUBMIT,
        title=say("checkins.form.title"),
        elements=tuple(elements),
        submit_label=say("checkins.form.submit"),
        metadata=str(run_id),
    )


def receipt(run_id: int, closes: str, first: bool, say: Words) -> Card:
    line = say("checkins.receipt.first" if first else "checkins.receipt.changed", closes=closes)
    return Card(summary=line, elements=(Text(line), _button(run_id, say, change=True)))


def digest(
    team: str,
    day: str,
    prompts: Sequence[str],
    answers: Mapping[str, Sequence[str | None]],
    asked: int,
    mood_line: str | None,
    closing: str,
    say: Words,
) -> Card:
    """Answers grouped by question, each with its author's name (check-ins are named), and how many
    answered; nothing about who did not. `answers`: name → that person's answers, in the order to show."""
    header = say("checkins.digest.header", team=team, day=day)
    if not answers:
        line = say("checkins.digest.none", team=team, day=day)
        elements: list[Element] = [Text(line)]
        if mood_line:
            elements.append(Text(mood_line))
        return Card(summary=line, elements=(*elements, Context(closing)))
    count = say("checkins.digest.count", answered=len(answers), asked=asked)
    elements = [Header(header), Text(count)]
    for i, prompt in enumerate(prompts):
        lines = [f"**{name}**: {given[i]}" for name, given in answers.items() if i < len(given) and given[i]]
        if lines:
            elements.append(Text(f"**{prompt}**\n" + "\n".join(lines)))
    if mood_line:
        elements.append(Text(mood_line))
    elements.append(Context(closing))
    return Card(summary=f"{header}: {count}", elements=tuple(elements))


def trend(title: str, lines: Sequence[str], chart: str | None, alt: str) -> Card:
    elements: list[Element] = [Header(title), Text("\n".join(lines))]
    if chart is not None:
        elements.append(Image(chart, alt))
    return Card(summary=title, elements=tuple(elements))
