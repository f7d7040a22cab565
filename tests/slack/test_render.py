"""Every neutral Card element as Block Kit, inside Slack's limits."""

from __future__ import annotations

import json

from adapters.slack import render
from flows.core.types import (
    Button,
    Buttons,
    Card,
    Choice,
    Context,
    Divider,
    Fields,
    Form,
    Header,
    Image,
    Question,
    Text,
    TextInput,
)


def _blocks(*elements: object) -> list[dict]:  # type: ignore[type-arg]
    return render.message(Card("s", tuple(elements)))["blocks"]  # type: ignore[arg-type]


def test_header_is_plain_text_and_cut_visibly_at_150() -> None:
    (block,) = _blocks(Header("x" * 200))
    assert block["type"] == "header"
    assert len(block["text"]["text"]) == 150 and block["text"]["text"].endswith("…")


def test_text_bold_becomes_slack_bold_and_is_escaped() -> None:
    (block,) = _blocks(Text("**Norm of focus** _pausing_ <b> & co"))
    assert block["text"] == {"type": "mrkdwn", "text": "*Norm of focus* _pausing_ &lt;b&gt; &amp; co"}


def test_long_text_is_split_into_sections_of_at_most_3000() -> None:
    paragraph = ("word " * 150).strip()
    blocks = _blocks(Text("\n\n".join([paragraph] * 20)))
    assert len(blocks) > 1
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks)
    assert sum(b["text"]["text"].count("word") for b in blocks) == 150 * 20


def test_fields_ten_per_section() -> None:
    blocks = _blocks(Fields(tuple((f"k{i}", f"v{i}") for i in range(23))))
    assert [len(b["fields"]) for b in blocks] == [10, 10, 3]
    assert blocks[0]["fields"][0]["text"] == "*k0*\nv0"


def test_question_as_buttons_with_unique_action_ids() -> None:
    question = Question(
        "q1", "How was it?", (Choice("1", "Bad"), Choice("2", "Good")), action_id="pulse.vote"
    )
    section, actions = _blocks(question)
    assert section["text"]["text"] == "How was it?"
    assert actions["block_id"] == "q1"
    ids = [e["action_id"] for e in actions["elements"]]
    assert len(set(ids)) == 2 and {render.neutral_action_id(i) for i in ids} == {"pulse.vote"}
    assert [e["value"] for e in actions["elements"]] == ["1", "2"]


def test_question_as_scale_radio_and_select() -> None:
    scale = Question(
        "s", "1–5", tuple(Choice(str(i), str(i)) for i in range(1, 6)), style="scale", action_id="p.s"
    )
    assert [e["type"] for e in _blocks(scale)[1]["elements"]] == ["button"] * 5
    radio = Question("r", "Pick", (Choice("a", "A"), Choice("b", "B")), style="radio", action_id="p.r")
    (element,) = _blocks(radio)[1]["elements"]
    assert element["type"] == "radio_buttons" and len(element["options"]) == 2
    many = Question(
        "m", "Pick", tuple(Choice(str(i), "x" * 90) for i in range(130)), style="select", action_id="p.m"
    )
    blocks = _blocks(many)
    (select,) = blocks[1]["elements"]
    assert select["type"] == "static_select" and len(select["options"]) == 100
    assert all(len(o["text"]["text"]) <= 75 for o in select["options"])
    assert "30 more choices" in blocks[2]["elements"][0]["text"]


def test_buttons_labels_cut_at_75_and_25_per_actions_block() -> None:
    buttons = Buttons(tuple(Button("L" * 100, "f.go", str(i), style="primary") for i in range(30)))
    blocks = _blocks(buttons)
    assert [len(b["elements"]) for b in blocks] == [25, 5]
    first = blocks[0]["elements"][0]
    assert len(first["text"]["text"]) == 75 and first["style"] == "primary"
    ids = [e["action_id"] for b in blocks for e in b["elements"]]
    assert len(set(ids)) == 30


def test_image_context_divider_and_text_input_in_a_message() -> None:
    image, context, divider, field = _blocks(
        Image("https://example.org/chart.png", "Trust chart"),
        Context("Source: guidebook"),
        Divider(),
        TextInput("note", "A note", multiline=True, placeholder="Say more"),
    )
    assert image == {"type": "image", "image_url": "https://example.org/chart.png", "alt_text": "Trust chart"}
    assert context["elements"][0]["text"] == "Source: guidebook"
    assert divider == {"type": "divider"}
    assert field["type"] == "input" and field["dispatch_action"] is True
    assert field["element"]["multiline"] is True


def test_more_than_50_blocks_are_cut_with_a_visible_note() -> None:
    card = Card("long", tuple(Text(f"line {i}") for i in range(80)))
    blocks = render.message(card)["blocks"]
    assert len(blocks) == 50
    assert "31 more parts are not shown" in blocks[-1]["elements"][0]["text"]


def test_a_form_is_a_modal_with_inputs_and_round_tripping_metadata() -> None:
    form = Form(
        "pulse.submit",
        "A very long title for a modal window",
        (
            Text("Why we ask"),
            Question("q1", "Trust?", tuple(Choice(str(i), str(i)) for i in range(1, 6)), style="scale"),
            Question(
                "q2",
                "Side",
                (Choice("l", "Labor"), Choice("m", "Management")),
                style="select",
                optional=True,
                initial="m",
            ),
            TextInput("comment", "Comment", multiline=True, optional=True),
        ),
        submit_label="Send",
        metadata="poll:7",
    )
    view = render.modal(form, {"c": "C111"})
    assert view["type"] == "modal" and view["callback_id"] == "pulse.submit"
    assert len(view["title"]["text"]) <= 24 and view["submit"]["text"] == "Send"
    assert render.read_metadata(view["private_metadata"]) == {"m": "poll:7", "c": "C111"}
    _, q1, q2, comment = view["blocks"]
    assert q1["block_id"] == "q1" and q1["element"]["type"] == "radio_buttons"
    assert q2["optional"] is True and q2["element"]["type"] == "static_select"
    assert q2["element"]["initial_option"] == q2["element"]["options"][1]  # Question.initial
    assert "initial_option" not in q1["element"]
    assert comment["element"]["type"] == "plain_text_input" and "dispatch_action" not in comment
    json.dumps(view)


def test_initial_choice_is_the_initial_option_of_a_radio_group_and_ignored_when_unknown() -> None:
    choices = (Choice("a", "A"), Choice("b", "B"))
    form = Form("f", "F", (Question("r", "R", choices, style="radio", initial="b"),))
    (block,) = render.modal(form)["blocks"]
    assert block["element"]["initial_option"] == {
        "text": {"type": "plain_text", "text": "B", "emoji": True},
        "value": "b",
    }
    form = Form("f", "F", (Question("r", "R", choices, style="radio", initial="zzz"),))
    assert "initial_option" not in render.modal(form)["blocks"][0]["element"]


def test_a_form_button_is_marked_and_the_mark_is_read_back() -> None:
    (block,) = _blocks(
        Buttons(
            (Button("Answer", "pulse.answer", "1", opens_form=True), Button("Answer", "pulse.answer", "2"))
        )
    )
    marked, plain = (e["action_id"] for e in block["elements"])
    assert render.opens_form(marked) and not render.opens_form(plain)
    assert render.neutral_action_id(marked) == render.neutral_action_id(plain) == "pulse.answer"
    (again,) = _blocks(Buttons((Button("A", "x.y", opens_form=True), Button("B", "x.y", opens_form=True))))
    second = again["elements"][1]["action_id"]
    assert second.endswith("#1") and render.opens_form(second) and render.neutral_action_id(second) == "x.y"


def test_a_stored_image_shows_its_description_where_it_cannot_be_uploaded() -> None:
    (block,) = _blocks(Image("tandem-image:pulse-chart-1.png", "Trust over four quarters"))
    assert block["type"] == "context" and "Trust over four quarters" in block["elements"][0]["text"]
    (web,) = _blocks(Image("https://example.org/c.png", "Trust"))
    assert web["type"] == "image" and web["image_url"] == "https://example.org/c.png"
