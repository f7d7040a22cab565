"""The Adaptive Card renderer: every neutral element, validated against the official 1.5 schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from adapters.teams.cards import read_action, render_card, render_form
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

SCHEMA = json.loads((Path(__file__).parent / "data" / "adaptive-card-1.5.schema.json").read_text())
VALIDATOR = jsonschema.Draft6Validator(SCHEMA)
CHOICES = (Choice("1", "Not at all"), Choice("2", "A little"), Choice("3", "Somewhat"), Choice("4", "A lot"))


def valid(card: dict[str, Any]) -> dict[str, Any]:
    errors = sorted(VALIDATOR.iter_errors(card), key=str)
    assert not errors, "\n".join(e.message for e in errors[:5])
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.5"
    return card


def test_the_schema_rejects_what_it_should() -> None:
    """The validator is really the Adaptive Card schema, not a permissive stand-in."""
    assert list(
        VALIDATOR.iter_errors({"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "Bogus"}]})
    )
    bad_action = {"type": "Action.Execute", "title": "x", "verbb": "typo"}
    assert list(VALIDATOR.iter_errors({"type": "AdaptiveCard", "version": "1.5", "actions": [bad_action]}))


ELEMENTS: list[tuple[str, Element, str]] = [
    ("header", Header("Before Tuesday's meeting"), "TextBlock"),
    ("text", Text("**Norm of focus:** Pausing\n_Take a breath before answering._"), "TextBlock"),
    ("fields", Fields((("Facilitator", "Ana"), ("Timekeeper", "Ben"))), "FactSet"),
    ("buttons question", Question("q1", "How was it?", CHOICES, "buttons", "pulse.answer"), "ActionSet"),
    ("radio question", Question("q2", "Trust?", CHOICES, "radio", "pulse.answer"), "Input.ChoiceSet"),
    ("select question", Question("q3", "Pick", CHOICES, "select", "pulse.answer", True), "Input.ChoiceSet"),
    ("scale question", Question("q4", "1 to 4", CHOICES, "scale", "pulse.answer"), "Input.ChoiceSet"),
    ("text input", TextInput("comment", "Anything else?", True, True, "optional"), "Input.Text"),
    (
        "buttons",
        Buttons(
            (
                Button("Pass my role", "norms.pass", "2026-09-01T16:00:00", "primary"),
                Button("No", "x.n", "", "danger"),
            )
        ),
        "ActionSet",
    ),
    ("image", Image("https://example.org/chart.png", "Trust over time"), "Image"),
    ("context", Context("Seven Norms — Garmston and Wellman"), "TextBlock"),
]


@pytest.mark.parametrize(("name", "element", "kind"), ELEMENTS, ids=[e[0] for e in ELEMENTS])
def test_each_element_renders_to_a_valid_card(name: str, element: Element, kind: str) -> None:
    card = valid(render_card(Card(summary=name, elements=(Text("before"), element))))
    assert card["fallbackText"] == name
    assert kind in [item["type"] for item in card["body"]]


def test_a_divider_is_the_next_elements_separator() -> None:
    card = valid(render_card(Card("x", (Text("a"), Divider(), Text("b"), Divider()))))
    assert [b.get("separator", False) for b in card["body"]] == [False, True]


def test_buttons_carry_their_action_and_value_and_read_back() -> None:
    card = valid(render_card(Card("x", (Buttons((Button("Pass my role", "norms.pass", "K", "primary"),)),))))
    [action] = card["body"][0]["actions"]
    assert (
        action["type"] == "Action.Execute"
        and action["verb"] == "norms.pass"
        and action["style"] == "positive"
    )
    assert read_action(action["data"], action["verb"]) == ("norms.pass", "K", {}, "")


def test_a_scale_question_answer_reads_back_as_its_value() -> None:
    card = valid(render_card(Card("x", (Question("q1", "How?", CHOICES, "buttons", "pulse.answer"),))))
    third = card["body"][1]["actions"][2]
    assert read_action(third["data"]) == ("pulse.answer", "3", {"q1": "3"}, "")


def test_a_form_is_an_input_card_with_one_submit() -> None:
    form = Form(
        "checkin.submit",
        "Check-in",
        (
            Question("mood", "How are you arriving?", CHOICES, "buttons"),
            TextInput("note", "Say more", True, True),
        ),
        submit_label="Send",
        metadata="team=3",
    )
    card = valid(render_form(form))
    kinds = [b["type"] for b in card["body"]]
    assert kinds == ["TextBlock", "Input.ChoiceSet", "Input.Text"]  # buttons become a choice set in a form
    [submit] = card["actions"]
    assert submit["title"] == "Send" and submit["verb"] == "checkin.submit"
    # Teams merges the inputs into the action's data on submit
    submitted = {**submit["data"], "mood": "2", "note": "tired"}
    assert read_action(submitted, submit["verb"]) == (
        "checkin.submit",
        None,
        {"mood": "2", "note": "tired"},
        "team=3",
    )


def test_a_stored_image_is_never_sent_as_its_reference() -> None:
    """Teams cannot fetch a `tandem-image:` reference; without the image's bytes (the adapter reads them
    from the database) it is a line, not an Image."""
    card = valid(render_card(Card("x", (Image("tandem-image:pulse-chart-1.png", "Trend"),))))
    assert [b["type"] for b in card["body"]] == ["TextBlock"]
    text = card["body"][0]["text"]
    assert "Chart not shown (Trend)" in text and "not available" in text
    assert "tandem-image" not in json.dumps(card)
