"""Render neutral Cards and Forms as Adaptive Cards (schema 1.5), and read submitted actions back.

Every button is an `Action.Execute` (Universal Actions: Teams sends an `adaptiveCard/action` invoke that
we answer in the HTTP response); its `verb` is the neutral action id and its `data` carries our routing
keys, so a legacy `Action.Submit` (a message activity with `value`) is understood the same way.
Pure functions: no botbuilder import, so the renderer is testable and survives an SDK swap.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from adapters.images import StoredImage, data_uri, is_remote
from flows.core import form_rules
from flows.core.types import (
    Button,
    Buttons,
    Card,
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

SCHEMA_URL = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"
CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"

ACTION_KEY = "tandem_action"
VALUE_KEY = "tandem_value"
QUESTION_KEY = "tandem_question"
METADATA_KEY = "tandem_metadata"
RULES_KEY = "tandem_rules"  # a form's rules (flows/core/form_rules.py), back with its inputs on submit
LANGUAGE_KEY = "tandem_language"  # the language the form speaks: its refusal is in it too
RESERVED = frozenset({ACTION_KEY, VALUE_KEY, QUESTION_KEY, METADATA_KEY, RULES_KEY, LANGUAGE_KEY})

# A card carrying a chart inline must stay under the strictest message limit Microsoft has published for
# Teams bots: about 25–28 KB for the whole payload, base64 images included (newer documentation says 40
# or 100 KB, base64 images excluded; we do not rely on that). Measured as the card's UTF-8 JSON.
INLINE_CARD_BYTES = 25_000

_STYLES = {"default": "default", "primary": "positive", "danger": "destructive"}
_LINE = re.compile(r"(?<!\n)\n(?!\n)")


def _markdown(text: str) -> str:
    """Our markup (`**bold**`, `_italic_`) is Adaptive Card markdown already; a single newline must
    become a paragraph break to survive Teams' renderer."""
    return _LINE.sub("\n\n", text)


def _execute(title: str, action_id: str, data: dict[str, Any], style: str = "default") -> dict[str, Any]:
    action: dict[str, Any] = {
        "type": "Action.Execute",
        "title": title,
        "verb": action_id,
        "data": {ACTION_KEY: action_id, **data},
    }
    if style != "default":
        action["style"] = style
    return action


def _question(question: Question, in_form: bool) -> list[dict[str, Any]]:
    action_id = question.action_id or question.id
    if question.style == "buttons" and not in_form:
        return [
            {"type": "TextBlock", "text": _markdown(question.prompt), "wrap": True, "weight": "Bolder"},
            {
                "type": "ActionSet",
                "actions": [
                    _execute(c.label, action_id, {VALUE_KEY: c.value, QUESTION_KEY: question.id})
                    for c in question.choices
                ],
            },
        ]
    choice_set: dict[str, Any] = {
        "type": "Input.ChoiceSet",
        "id": question.id,
        "label": question.prompt,
        "choices": [{"title": c.label, "value": c.value} for c in question.choices],
        "style": "compact" if question.style == "select" else "expanded",
        "isRequired": not question.optional,
    }
    if question.initial is not None and any(c.value == question.initial for c in question.choices):
        choice_set["value"] = question.initial
    if not question.optional:
        choice_set["errorMessage"] = form_rules.message("choose")
    items = [choice_set]
    if not in_form:
        items.append(
            {"type": "ActionSet", "actions": [_execute("Submit", action_id, {QUESTION_KEY: question.id})]}
        )
    return items


def _text_input(element: TextInput, in_form: bool) -> list[dict[str, Any]]:
    field: dict[str, Any] = {
        "type": "Input.Text",
        "id": element.id,
        "label": element.label,
        "isMultiline": element.multiline,
        "isRequired": not element.optional,
    }
    if element.placeholder:
        field["placeholder"] = element.placeholder
    if element.initial:
        field["value"] = element.initial
    if element.max_length is not None:
        field["maxLength"] = element.max_length
    if not element.optional:
        field["errorMessage"] = form_rules.message("fill_in")
    items = [field]
    if not in_form:
        items.append({"type": "ActionSet", "actions": [_execute("Send", element.id, {})]})
    return items


def _button(button: Button) -> dict[str, Any]:
    return _execute(button.label, button.action_id, {VALUE_KEY: button.value}, _STYLES[button.style])


def _element(element: Element, in_form: bool) -> list[dict[str, Any]]:
    if isinstance(element, Header):
        return [
            {
                "type": "TextBlock",
                "text": element.text,
                "size": "Large",
                "weight": "Bolder",
                "style": "heading",
                "wrap": True,
            }
        ]
    if isinstance(element, Text):
        return [{"type": "TextBlock", "text": _markdown(element.text), "wrap": True}]
    if isinstance(element, Fields):
        return [{"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in element.pairs]}]
    if isinstance(element, Question):
        return _question(element, in_form)
    if isinstance(element, TextInput):
        return _text_input(element, in_form)
    if isinstance(element, Buttons):
        return [{"type": "ActionSet", "actions": [_button(b) for b in element.buttons]}]
    if isinstance(element, Image):
        if not is_remote(element.url):  # a stored image that is gone (see with_images for the others)
            return [_small(f"Chart not shown ({element.alt}): it is not available.")]
        return [{"type": "Image", "url": element.url, "altText": element.alt}]
    if isinstance(element, Context):
        return [_small(element.text)]
    if isinstance(element, Divider):
        return []  # drawn as the next element's separator
    raise TypeError(f"cannot render {type(element).__name__} as an Adaptive Card element")


def _small(text: str) -> dict[str, Any]:
    return {"type": "TextBlock", "text": _markdown(text), "isSubtle": True, "size": "Small", "wrap": True}


def _body(elements: tuple[Element, ...], in_form: bool) -> list[dict[str, Any]]:
    body: list[dict[str, Any]] = []
    separate = False
    for element in elements:
        if isinstance(element, Divider):
            separate = bool(body)
            continue
        items = _element(element, in_form)
        if separate and items:
            items[0]["separator"] = True
            separate = False
        body.extend(items)
    return body


def _card(
    body: list[dict[str, Any]], fallback: str, actions: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": SCHEMA_URL,
        "version": VERSION,
        "body": body,
        "fallbackText": fallback,
    }
    if actions:
        card["actions"] = actions
    return card


def render_card(card: Card) -> dict[str, Any]:
    """A message card, exactly as sent (and as validated against the schema in the tests)."""
    return _card(_body(card.elements, in_form=False), card.summary)


def card_bytes(card: dict[str, Any]) -> int:
    return len(json.dumps(card, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def with_images(
    card: Card,
    stored: Mapping[str, StoredImage],
    link: Callable[[StoredImage], str | None] = lambda _: None,
    limit: int = INLINE_CARD_BYTES,
) -> dict[str, Any]:
    """`render_card`, with its stored images (the pulse chart; `stored`: their bytes by `Image.url`, as
    loaded at send time) made showable in Teams:
    1. inline, as a `data:image/png;base64,…` URL, when the whole card stays within `limit` bytes;
    2. else a link Tandem serves itself (`GET /images/…`, `link`), when TANDEM_PUBLIC_URL is set;
    3. else a small line saying the chart is too large for Teams.
    A stored image that is missing from `stored` becomes a line saying it is not available."""
    found = {
        i: (e, stored[e.url]) for i, e in enumerate(card.elements) if isinstance(e, Image) and e.url in stored
    }
    if not found:
        return render_card(card)
    inline = list(card.elements)
    for i, (element, image) in found.items():
        inline[i] = Image(data_uri(image.content, image.media_type), element.alt)
    rendered = render_card(replace(card, elements=tuple(inline)))
    if card_bytes(rendered) <= limit:
        return rendered
    elements: list[Element] = list(card.elements)
    for i, (element, image) in found.items():
        url = link(image)
        elements[i] = (
            Image(url, element.alt)
            if url
            else Context(
                f"Chart not shown ({element.alt}): it is too large to carry in a Teams message. "
                "Whoever runs Tandem can set TANDEM_PUBLIC_URL so that Teams can load it from Tandem."
            )
        )
    return render_card(replace(card, elements=tuple(elements)))


def render_form(form: Form) -> dict[str, Any]:
    """An input card: the inputs and one submit action (`verb` = the form id, metadata and the form's rules
    in `data`; Teams checks required inputs and lengths itself, `inbound.refused` checks the rest)."""
    body = [
        {
            "type": "TextBlock",
            "text": form.title,
            "size": "Large",
            "weight": "Bolder",
            "style": "heading",
            "wrap": True,
        },
        *_body(form.elements, in_form=True),
    ]
    rules = form_rules.rules_to_data(form_rules.rules_of(form.elements))
    submit = _execute(
        form.submit_label,
        form.form_id,
        {METADATA_KEY: form.metadata, RULES_KEY: rules, LANGUAGE_KEY: form.language},
        "positive",
    )
    return _card(body, form.title, [submit])


def read_action(data: Any, verb: str | None = None) -> tuple[str, str | None, dict[str, str], str]:
    """(action id, value, values, form metadata) from a submitted card's data: ours carry `tandem_action`;
    anything else (an old card, a foreign messageBack) is routed by its verb, or to a flow that does not
    exist, whose answer is "that button is no longer in use"."""
    if not isinstance(data, dict):
        return (verb or "unknown", None if data is None else str(data), {}, "")
    action_id = str(data.get(ACTION_KEY) or verb or data.get("action") or "unknown")
    raw_value = data.get(VALUE_KEY)
    value = None if raw_value is None else str(raw_value)
    values = {str(k): _as_text(v) for k, v in data.items() if k not in RESERVED}
    question = data.get(QUESTION_KEY)
    if question and value is not None:
        values.setdefault(str(question), value)
    metadata = _as_text(data.get(METADATA_KEY))
    return action_id, value, values, metadata


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
