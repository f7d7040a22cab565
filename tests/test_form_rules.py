"""A Form's rules (flows/core/form_rules.py): the pure check every adapter uses, its messages, the rules as
data (Teams carries them in the card) and as Block Kit (Slack echoes them with the submit), and the local
adapter refusing a submit before the engine sees it."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from adapters.local.render import render_text
from adapters.slack import render
from flows.core.form_rules import Rule, check, refusal, rules_from_data, rules_of, rules_to_data
from flows.core.types import Choice, Form, Header, Question, Text, TextInput, card_from_json, card_to_json
from storage.models import ProcessedEvent
from storage.pulse_models import PulseSealed
from tests.conftest import Stack
from tests.pulse.conftest import all_items, big_team, current_poll

SCALE = tuple(Choice(str(n), f"{n} label") for n in range(1, 6))
FORM = Form(
    "checkin.submit",
    "Check-in",
    (
        Header("How are you?"),
        Question("mood", "How are you arriving?", SCALE, "radio"),
        Question(
            "room",
            "Which room?",
            (Choice("a", "Library"), Choice("b", "Gym")),
            "select",
            optional=True,
        ),
        TextInput("why", "Why?", min_length=3, max_length=10),
        TextInput("note", "Anything else?", optional=True, max_length=5),
        Text("Thanks."),
    ),
)
RULES = rules_of(FORM.elements)


def test_the_rules_come_from_the_neutral_fields() -> None:
    assert rules_of(FORM.elements) == {
        "mood": Rule("How are you arriving?", True, ("1", "2", "3", "4", "5")),
        "room": Rule("Which room?", False, ("a", "b")),
        "why": Rule("Why?", True, (), 3, 10),
        "note": Rule("Anything else?", False, (), None, 5),
    }


def test_check_names_each_problem_with_one_message() -> None:
    assert check(RULES, {"mood": "3", "why": "because"}) == {}  # optional inputs may be left out
    assert check(RULES, {"mood": " ", "room": "c", "why": "no", "note": "too long"}) == {
        "mood": "Please choose one.",
        "room": "“c” isn't one of the choices: please choose again.",
        "why": "Please write at least 3 characters (it has 2).",
        "note": "Please keep this to 5 characters (it has 8).",
    }
    assert check(RULES, {"mood": "7", "why": ""}) == {
        "mood": "“7” isn't on the scale: choose 1 to 5.",
        "why": "Please fill this in.",
    }
    assert check(RULES, {"mood": "0", "why": "x" * 11}) == {
        "mood": "“0” isn't on the scale: choose 1 to 5.",
        "why": "Please keep this to 10 characters (it has 11).",
    }
    # values no rule names are the flow's business; no rules, no problems
    assert check(RULES, {"mood": "1", "why": "fine", "other": "?"}) == {}
    assert check({}, {"anything": ""}) == {}


def test_the_refusal_names_each_input_by_its_label() -> None:
    card = refusal(RULES, check(RULES, {"mood": "9", "why": "fine"}))
    assert card.summary == "Nothing was recorded: please correct one answer and submit again."
    text = render_text(card)
    assert "How are you arriving? — “9” isn't on the scale: choose 1 to 5." in text
    two = refusal(RULES, check(RULES, {}))
    assert two.summary == "Nothing was recorded: please correct 2 answers and submit again."
    assert card_from_json(card_to_json(two)) == two  # it can wait in the outbox like any card


def test_the_rules_survive_the_trip_as_data_and_as_block_kit() -> None:
    assert rules_from_data(json.loads(json.dumps(rules_to_data(RULES)))) == RULES
    assert rules_from_data("not rules") == {} and rules_from_data({"x": "y"}) == {}
    assert rules_from_data({"x": {"max_length": "9", "choices": "ab"}}) == {"x": Rule()}
    view = render.modal(FORM)
    (why,) = [b for b in view["blocks"] if b.get("block_id") == "why"]
    assert why["element"]["min_length"] == 3 and why["element"]["max_length"] == 10
    labels = {k: r.label for k, r in RULES.items()}
    assert render.form_rules(view["blocks"]) == RULES  # what Slack echoes is what was meant
    assert {k: r.label for k, r in render.form_rules(view["blocks"]).items()} == labels


async def _count(stack: Stack, model: type[object]) -> int:
    async with stack.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_a_local_submit_that_breaks_the_rules_is_refused_without_using_up_its_key(stack: Stack) -> None:
    team = await stack.import_team(big_team())
    await stack.local.command("l0", "pulse start")
    await stack.worker.drain()
    poll = await current_poll(stack, team.id)
    await stack.local.click("l3", "pulse.answer", str(poll.id))
    form = stack.local.last_form
    assert form is not None
    bad = {**all_items(4), "respect.listen": "7", "comment": "x" * 2001}
    del bad["integrity.honesty"]
    await stack.local.submit("l3", form, bad, key="local:submit:1")
    reply = stack.local.transcript[-1]
    assert reply.where == "DM to l3"
    assert reply.text.startswith("Nothing was recorded: please correct 3 answers and submit again.")
    assert "— “7” isn't on the scale: choose 1 to 5." in reply.text
    assert "— Please choose one." in reply.text
    assert "— Please keep this to 2,000 characters (it has 2,001)." in reply.text
    assert await _count(stack, PulseSealed) == 0 and await _count(stack, ProcessedEvent) == 0

    # corrected, with the same idempotency key: recorded
    await stack.local.submit("l3", form, all_items(4), key="local:submit:1")
    await stack.worker.drain()
    assert "your answers are in" in stack.local.transcript[-1].text
    assert await _count(stack, PulseSealed) == 1 and await _count(stack, ProcessedEvent) == 1
