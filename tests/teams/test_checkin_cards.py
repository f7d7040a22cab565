"""The check-in's invitation, form, reminder and digest as Adaptive Cards (Teams), valid against the 1.5
schema, with the form's answers read back as the flow declared them."""

from __future__ import annotations

from adapters.teams.cards import read_action, render_card, render_form
from flows.checkins import cards
from flows.core.catalog import Words
from tests.teams.test_cards import valid

SAY = Words("en")
PROMPTS = ("How is your week going?", "What would help you this week?")


def test_the_check_in_cards_and_form_are_valid_adaptive_cards() -> None:
    invitation = valid(render_card(cards.invitation("Team", 7, PROMPTS, True, 5, "Wed 28 Oct", SAY)))
    assert "not anonymous" in str(invitation) and cards.ANSWER in str(invitation)
    valid(render_card(cards.reminder("Team", 7, 2, 6, "Wed 28 Oct", SAY)))
    digest = cards.digest("Team", "Mon 26 Oct", PROMPTS, {"Ana": ("Fine", None)}, 6, None, "closed", SAY)
    valid(render_card(digest))
    form = valid(render_form(cards.answer_form(7, PROMPTS, True, SAY, ("Busy", None), 4)))
    inputs = {i["id"]: i for i in form["body"] if str(i.get("type", "")).startswith("Input.")}
    assert set(inputs) == {"q1", "q2", "mood"} and inputs["q1"]["value"] == "Busy"
    submit = next(a for a in form["actions"] if a.get("verb") or a.get("data"))
    action_id, _, _, metadata = read_action(submit.get("data", {}), submit.get("verb"))
    assert action_id == cards.SUBMIT and metadata == "7"
