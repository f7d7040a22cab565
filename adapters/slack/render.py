"""Neutral Cards and Forms as Block Kit, inside Slack's limits.

Limits (https://api.slack.com/reference/block-kit): 50 blocks a message (100 in a modal), 3,000 characters
in a section's text, 10 fields a section (2,000 characters each), 150 characters a header, 75 characters a
button label or an option's text, 25 elements an actions block, 100 options a select, 10 radio options,
24 characters a modal title or submit label, 3,000 characters of private metadata. Long text is split into
several blocks; anything else too long is cut with a visible "…", and blocks past the limit are replaced by
a visible note, so Slack never rejects a message for its size.

Action ids: Slack wants them unique inside a block, so a rendered action id may carry a `#n` suffix; a
button that opens a form carries `~form` before it (`opens_form`: the click opens a modal at once). The
inbound side strips both (`neutral_action_id`).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from flows.core.form_rules import Rule
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

MAX_BLOCKS_MESSAGE = 50
MAX_BLOCKS_MODAL = 100
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER = 150
MAX_LABEL = 75  # button text, option text
MAX_BUTTON_VALUE = 2000
MAX_OPTION_VALUE = 150
MAX_ACTIONS = 25
MAX_OPTIONS = 100
MAX_RADIO = 10
MAX_CONTEXT_TEXT = 3000
MAX_INPUT_LABEL = 2000
MAX_PLACEHOLDER = 150
MAX_INPUT_VALUE = 3000  # a plain_text_input's min_length / max_length
MAX_TITLE = 24
MAX_METADATA = 3000
MAX_ALT = 2000
MAX_IMAGE_URL = 3000
MAX_NOTIFICATION_TEXT = 3000
MAX_ACTION_ID = 255
MAX_BLOCK_ID = 255
ELLIPSIS = "…"

_BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)
_SUFFIX = re.compile(r"#\d+$")
FORM_MARK = "~form"


def cut(text: str, limit: int) -> str:
    """`text`, or its first `limit - 1` characters and a visible ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def escape(text: str) -> str:
    """Slack's three control characters in message text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(text: str) -> str:
    """Our markup (`**bold**`, `_italic_`) as Slack mrkdwn (`*bold*`, `_italic_`), escaped."""
    return _BOLD.sub(r"*\1*", escape(text))


def plain(text: str) -> str:
    return _BOLD.sub(r"\1", text)


def is_web_url(url: str) -> bool:
    """An image Slack can fetch itself (an image block's image_url); anything else is a local file."""
    return url.startswith(("https://", "http://"))


def neutral_action_id(action_id: str) -> str:
    """The flow's action id from a rendered one (`norms.pass#2` → `norms.pass`, `pulse.answer~form` →
    `pulse.answer`)."""
    return _SUFFIX.sub("", action_id).removesuffix(FORM_MARK)


def opens_form(action_id: str) -> bool:
    """Whether a rendered action id is a button that opens a form (`Button.opens_form`)."""
    return _SUFFIX.sub("", action_id).endswith(FORM_MARK)


def split_text(text: str, limit: int = MAX_SECTION_TEXT) -> list[str]:
    """Split at paragraph, then line, then word boundaries into chunks of at most `limit` characters."""
    if len(text) <= limit:
        return [text]
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        at = max(window.rfind("\n\n"), window.rfind("\n"))
        if at < limit // 2:
            at = window.rfind(" ")
        if at < limit // 2:
            at = limit
        chunks.append(rest[:at].rstrip())
        rest = rest[at:].lstrip()
    if rest:
        chunks.append(rest)
    return chunks


def _plain_text(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": cut(plain(text), limit) or " ", "emoji": True}


def _mrkdwn(text: str, limit: int) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": cut(mrkdwn(text), limit) or " "}


def _option(choice: Choice) -> dict[str, Any]:
    return {"text": _plain_text(choice.label, MAX_LABEL), "value": choice.value[:MAX_OPTION_VALUE]}


class _Ids:
    """Unique action ids within one message or view."""

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._counter = itertools.count(1)

    def __call__(self, action_id: str) -> str:
        base = action_id[: MAX_ACTION_ID - 6]
        candidate = base
        while candidate in self._seen:
            candidate = f"{base}#{next(self._counter)}"
        self._seen.add(candidate)
        return candidate


def _sections(text: str) -> Iterator[dict[str, Any]]:
    for chunk in split_text(mrkdwn(text)):
        yield {"type": "section", "text": {"type": "mrkdwn", "text": chunk}}


def _button(button: Button, ids: _Ids) -> dict[str, Any]:
    rendered: dict[str, Any] = {
        "type": "button",
        "text": _plain_text(button.label, MAX_LABEL),
        "action_id": ids(
            button.action_id[: MAX_ACTION_ID - 12] + FORM_MARK if button.opens_form else button.action_id
        ),
    }
    if button.value:
        rendered["value"] = button.value[:MAX_BUTTON_VALUE]
    if button.style != "default":
        rendered["style"] = button.style
    return rendered


def _actions(elements: list[dict[str, Any]], block_id: str | None = None) -> Iterator[dict[str, Any]]:
    for index in range(0, len(elements), MAX_ACTIONS):
        block: dict[str, Any] = {"type": "actions", "elements": elements[index : index + MAX_ACTIONS]}
        if block_id is not None:
            block["block_id"] = block_id[:MAX_BLOCK_ID] if index == 0 else f"{block_id[:240]}#{index}"
        yield block


def _choice_element(question: Question, ids: _Ids, *, in_input: bool) -> dict[str, Any]:
    """A radio group or a static select for `question` (buttons are not allowed in a modal's input)."""
    action_id = ids(question.id if in_input else (question.action_id or question.id))
    choices = question.choices
    element: dict[str, Any]
    if (question.style == "radio" or (question.style in ("buttons", "scale") and in_input)) and len(
        choices
    ) <= MAX_RADIO:
        element = {"type": "radio_buttons", "action_id": action_id, "options": [_option(c) for c in choices]}
    else:
        choices = choices[:MAX_OPTIONS]
        element = {
            "type": "static_select",
            "action_id": action_id,
            "placeholder": _plain_text("Choose…", MAX_PLACEHOLDER),
            "options": [_option(c) for c in choices],
        }
    # Slack wants initial_option to be one of the options, exactly
    initial = next((c for c in choices if c.value == question.initial), None)
    if initial is not None:
        element["initial_option"] = _option(initial)
    return element


def _question(question: Question, ids: _Ids, *, in_form: bool) -> Iterator[dict[str, Any]]:
    overflow = len(question.choices) - MAX_OPTIONS
    if in_form:
        yield {
            "type": "input",
            "block_id": question.id[:MAX_BLOCK_ID],
            "optional": question.optional,
            "label": _plain_text(question.prompt, MAX_INPUT_LABEL),
            "element": _choice_element(question, ids, in_input=True),
        }
    else:
        yield from _sections(question.prompt)
        if question.style in ("buttons", "scale") and len(question.choices) <= MAX_ACTIONS:
            action_id = question.action_id or question.id
            buttons = [
                _button(Button(label=c.label, action_id=action_id, value=c.value), ids)
                for c in question.choices
            ]
            yield from _actions(buttons, block_id=question.id)
        else:
            yield {
                "type": "actions",
                "block_id": question.id[:MAX_BLOCK_ID],
                "elements": [_choice_element(question, ids, in_input=False)],
            }
    if overflow > 0:
        yield _context(f"{overflow} more choices are not shown (Slack shows at most {MAX_OPTIONS}).")


def _text_input(element: TextInput, ids: _Ids, *, in_form: bool) -> dict[str, Any]:
    field: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": ids(element.id),
        "multiline": element.multiline,
    }
    if element.placeholder:
        field["placeholder"] = _plain_text(element.placeholder, MAX_PLACEHOLDER)
    if element.initial:
        field["initial_value"] = element.initial
    # Slack enforces the lengths itself, and echoes them with the submit (`form_rules`)
    if element.min_length:
        field["min_length"] = min(element.min_length, MAX_INPUT_VALUE)
    if element.max_length is not None:
        field["max_length"] = max(1, min(element.max_length, MAX_INPUT_VALUE))
    block: dict[str, Any] = {
        "type": "input",
        "block_id": element.id[:MAX_BLOCK_ID],
        "optional": element.optional,
        "label": _plain_text(element.label, MAX_INPUT_LABEL),
        "element": field,
    }
    if not in_form:  # an input in a message sends its value when the person presses Enter
        block["dispatch_action"] = True
    return block


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [_mrkdwn(text, MAX_CONTEXT_TEXT)]}


def _fields(element: Fields) -> Iterator[dict[str, Any]]:
    pairs = element.pairs
    for index in range(0, len(pairs), MAX_FIELDS):
        fields = [
            {"type": "mrkdwn", "text": cut(f"*{escape(plain(k))}*\n{mrkdwn(v)}", MAX_FIELD_TEXT)}
            for k, v in pairs[index : index + MAX_FIELDS]
        ]
        yield {"type": "section", "fields": fields}


def element_blocks(element: Element, ids: _Ids, *, in_form: bool = False) -> list[dict[str, Any]]:
    if isinstance(element, Header):
        return [{"type": "header", "text": _plain_text(element.text, MAX_HEADER)}]
    if isinstance(element, Text):
        return list(_sections(element.text))
    if isinstance(element, Fields):
        return list(_fields(element))
    if isinstance(element, Question):
        return list(_question(element, ids, in_form=in_form))
    if isinstance(element, TextInput):
        return [_text_input(element, ids, in_form=in_form)]
    if isinstance(element, Buttons):
        return list(_actions([_button(b, ids) for b in element.buttons]))
    if isinstance(element, Image):
        if not is_web_url(element.url):
            # A file on this machine: a message's sender uploads it after the message (adapter.py);
            # where no upload is possible (a private reply, App Home, a modal) its description stands in.
            return [
                _context(
                    f"Image not shown here: {element.alt}. "
                    "It comes as a file with the message in a channel or DM."
                )
            ]
        return [
            {
                "type": "image",
                "image_url": element.url[:MAX_IMAGE_URL],
                "alt_text": cut(element.alt, MAX_ALT) or "image",
            }
        ]
    if isinstance(element, Context):
        return [_context(element.text)]
    if isinstance(element, Divider):
        return [{"type": "divider"}]
    raise TypeError(f"unknown card element {element!r}")


def blocks_for(elements: tuple[Element, ...], *, in_form: bool = False, limit: int) -> list[dict[str, Any]]:
    ids = _Ids()
    blocks = [block for element in elements for block in element_blocks(element, ids, in_form=in_form)]
    if len(blocks) > limit:
        hidden = len(blocks) - (limit - 1)
        blocks = blocks[: limit - 1]
        blocks.append(_context(f"{ELLIPSIS} {hidden} more parts are not shown: this message was too long."))
    return blocks


def message(card: Card) -> dict[str, Any]:
    """`chat.postMessage` / `chat.update` arguments for a card: notification text and blocks."""
    return {
        "text": cut(plain(card.summary), MAX_NOTIFICATION_TEXT) or " ",
        "blocks": blocks_for(card.elements, limit=MAX_BLOCKS_MESSAGE),
    }


def modal(form: Form, private_metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """A modal view for `form`; `callback_id` is the form id; the metadata round-trips as JSON."""
    ours = {"m": form.metadata, **({"l": form.language} if form.language else {}), **(private_metadata or {})}
    metadata = json.dumps(ours, separators=(",", ":"))
    if len(metadata) > MAX_METADATA:  # keep the flow's metadata, drop our routing hints
        metadata = json.dumps({"m": form.metadata[: MAX_METADATA - 16]}, separators=(",", ":"))
    return {
        "type": "modal",
        "callback_id": form.form_id[:MAX_ACTION_ID],
        "title": _plain_text(form.title, MAX_TITLE),
        "submit": _plain_text(form.submit_label, MAX_TITLE),
        "close": _plain_text("Cancel", MAX_TITLE),
        "private_metadata": metadata,
        "blocks": blocks_for(form.elements, in_form=True, limit=MAX_BLOCKS_MODAL),
    }


def loading_modal() -> dict[str, Any]:
    """The modal opened the moment a form button is pressed, while the flow decides what goes in it."""
    return notice_modal("Opening the form…")


def notice_modal(text: str) -> dict[str, Any]:
    """A modal with a message and a Close button (nothing to submit)."""
    return {
        "type": "modal",
        "title": _plain_text("Tandem", MAX_TITLE),
        "close": _plain_text("Close", MAX_TITLE),
        "blocks": list(_sections(text)),
    }


def home(card: Card) -> dict[str, Any]:
    """An App Home tab view showing `card`."""
    return {"type": "home", "blocks": blocks_for(card.elements, limit=MAX_BLOCKS_MODAL)}


def form_rules(blocks: Any) -> dict[str, Rule]:
    """The rules of a modal's inputs (block id → Rule) read from its blocks as rendered by `modal`, which
    Slack echoes in a `view_submission`: what the person saw is what is checked, with no database."""
    rules: dict[str, Rule] = {}
    for block in blocks if isinstance(blocks, list) else ():
        if not isinstance(block, dict) or block.get("type") != "input":
            continue
        block_id, element = block.get("block_id"), block.get("element")
        if not isinstance(block_id, str) or not isinstance(element, dict):
            continue
        label = block.get("label")
        rule = Rule(
            label=str(label.get("text") or "") if isinstance(label, dict) else "",
            required=block.get("optional") is not True,
        )
        if element.get("type") in ("radio_buttons", "static_select"):
            options = element.get("options")
            options = options if isinstance(options, list) else []
            rule = replace(rule, choices=tuple(str(o.get("value")) for o in options if isinstance(o, dict)))
        elif element.get("type") == "plain_text_input":
            low, high = element.get("min_length"), element.get("max_length")
            rule = replace(
                rule,
                min_length=low if isinstance(low, int) else None,
                max_length=high if isinstance(high, int) else None,
            )
        rules[block_id] = rule
    return rules


def read_metadata(raw: str | None) -> dict[str, Any]:
    """Our private_metadata back (`{"m": flow metadata, "c": channel, ...}`); {} if it isn't ours."""
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {"m": raw}
    return data if isinstance(data, dict) else {"m": raw}
