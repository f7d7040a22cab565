"""The local adapter's text rendering (the demo's transcript)."""

from __future__ import annotations

from adapters.local.render import KEY_WIDTH, WIDTH, render_text
from flows.core.types import Card, Fields


def test_fields_line_up_and_a_long_label_does_not_push_the_values_off_screen() -> None:
    long_label = "pulse start [trust|team|<poll>] · status · close · results · target"
    card = Card(
        summary="s",
        elements=(
            Fields(
                (
                    ("help", "Show this list."),
                    ("roles", "Who facilitates, takes notes and keeps time at the next meeting, " * 2),
                    (long_label, "Anonymous trust polls."),
                )
            ),
        ),
    )
    lines = render_text(card).splitlines()
    assert lines[0] == "  help   Show this list."
    assert lines[1].startswith("  roles  Who facilitates")
    assert lines[2].startswith(" " * 9) and lines[2].strip()  # the value wraps under itself
    assert lines[-2:] == [f"  {long_label}", "      Anonymous trust polls."]
    assert len(long_label) > KEY_WIDTH
    assert all(len(line) <= WIDTH for line in lines if long_label not in line)


def test_a_form_says_fields_are_required_only_when_one_is() -> None:
    from adapters.local.html import form_html
    from flows.core.types import Form, TextInput

    optional = Form("f", "Check-in", (TextInput("q1", "How is your week?", optional=True),))
    required = Form("f", "Draft", (TextInput("points", "Points"), TextInput("note", "Note", optional=True)))
    assert "are required" not in form_html(optional, "t")
    assert "are required" in form_html(required, "t")
