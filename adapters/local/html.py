"""Neutral Cards and Forms as accessible HTML, for the local chat page (adapters/local/chat.py).

Everything a flow wrote is escaped: `**bold**` and `_italic_` are the only markup, as on Slack and Teams.
Buttons carry the message they belong to, so the page can only press a button a person was shown. A Form
is a real HTML form: a Question is a radio group (a fieldset with its legend), a TextInput a labelled box;
required inputs are marked, and a refused submit comes back with each problem beside its input
(flows/core/form_rules.py, the same messages as Slack shows).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from html import escape

from flows.core.types import (
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

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<![\w*])_(.+?)_(?![\w*])")


def inline(text: str) -> str:
    """Escaped text with the neutral markup (`**bold**`, `_italic_`, newlines) as HTML."""
    html = escape(text)
    html = _BOLD.sub(r"<strong>\1</strong>", html)
    html = _ITALIC.sub(r"<em>\1</em>", html)
    return html.replace("\n", "<br>")


def _button(label: str, action_id: str, value: str, style: str, opens_form: bool) -> str:
    classes = f"btn btn-{escape(style)}"
    more = ' aria-haspopup="dialog"' if opens_form else ""
    return (
        f'<button type="button" class="{classes}" data-action="{escape(action_id)}" '
        f'data-value="{escape(value)}"{more}>{inline(label)}</button>'
    )


def _element(element: Element, images: Mapping[str, str]) -> str:
    if isinstance(element, Header):
        return f"<h3>{inline(element.text)}</h3>"
    if isinstance(element, Text):
        return f"<p>{inline(element.text)}</p>"
    if isinstance(element, Fields):
        rows = "".join(f"<dt>{inline(k)}</dt><dd>{inline(v)}</dd>" for k, v in element.pairs)
        return f'<dl class="fields">{rows}</dl>'
    if isinstance(element, Buttons):
        buttons = "".join(
            _button(b.label, b.action_id, b.value, b.style, b.opens_form) for b in element.buttons
        )
        return f'<div class="actions">{buttons}</div>'
    if isinstance(element, Question):  # in a message: its choices are buttons
        buttons = "".join(
            _button(c.label, element.action_id or element.id, c.value, "default", False)
            for c in element.choices
        )
        return (
            f'<div class="question" role="group" aria-label="{escape(element.prompt)}">'
            f'<p>{inline(element.prompt)}</p><div class="actions">{buttons}</div></div>'
        )
    if isinstance(element, Image):
        src = images.get(element.url, element.url if element.url.startswith(("https://", "data:")) else "")
        if not src:
            return f'<p class="missing-image">[image: {inline(element.alt)}]</p>'
        return f'<figure><img src="{escape(src)}" alt="{escape(element.alt)}"></figure>'
    if isinstance(element, Context):
        return f'<p class="context">{inline(element.text)}</p>'
    if isinstance(element, Divider):
        return "<hr>"
    if isinstance(element, TextInput):  # only meaningful in a Form
        return f'<p class="context">{inline(element.label)}</p>'
    return ""


def card_html(
    message_id: int, card: Card, images: Mapping[str, str], *, author: str | None = None, when: str = ""
) -> str:
    """One message of the conversation: an <article> whose id names it (`m-<id>`)."""
    who = "You" if author else "Tandem"
    body = "".join(_element(e, images) for e in card.elements)
    cls = "msg mine" if author else "msg"
    stamp = f' <span class="when">{escape(when)}</span>' if when else ""
    return (
        f'<article class="{cls}" id="m-{message_id}" data-id="{message_id}" aria-label="{who}: '
        f'{escape(card.summary)}"><p class="who"><strong>{who}</strong>{stamp}</p>{body}</article>'
    )


def form_html(
    form: Form,
    token: str,
    *,
    values: Mapping[str, str] | None = None,
    problems: Mapping[str, str] | None = None,
) -> str:
    """The Form as an HTML form (`novalidate`: the Form's own rules answer, beside each input)."""
    values = values or {}
    problems = problems or {}
    parts: list[str] = []
    for element in form.elements:
        if isinstance(element, Question):
            parts.append(_question(element, values, problems))
        elif isinstance(element, TextInput):
            parts.append(_text_input(element, values, problems))
        else:
            parts.append(_element(element, {}))
    required_note = (  # only when something is required: a form of optional answers says nothing of it
        '<p class="context">Fields marked <span class="req" aria-hidden="true">*</span> are required.</p>'
        if any(isinstance(e, Question | TextInput) and not e.optional for e in form.elements)
        else ""
    )
    summary = ""
    if problems:
        count = len(problems)
        summary = (
            '<p class="error form-error" role="alert">Nothing was recorded: please correct '
            f"{'one answer' if count == 1 else f'{count} answers'} and submit again.</p>"
        )
    return (
        f'<form class="card-form" method="post" action="/chat/submit" novalidate '
        f'aria-labelledby="form-title-{escape(token)}" data-token="{escape(token)}">'
        f'<h3 id="form-title-{escape(token)}">{inline(form.title)}</h3>{summary}'
        f"{required_note}"
        f'<input type="hidden" name="token" value="{escape(token)}">'
        f"{''.join(parts)}"
        f'<div class="actions"><button type="submit" class="btn btn-primary">{inline(form.submit_label)}'
        '</button><button type="button" class="btn" data-cancel>Cancel</button></div></form>'
    )


def _required_mark(optional: bool) -> str:
    if optional:
        return ' <span class="optional">(optional)</span>'
    return ' <span class="req" aria-hidden="true">*</span><span class="sr-only">(required)</span>'


def _error(field_id: str, problems: Mapping[str, str]) -> tuple[str, str]:
    """(the error paragraph, the attributes that tie the input to it)."""
    problem = problems.get(field_id)
    if problem is None:
        return "", ""
    error_id = f"err-{escape(field_id)}"
    return (
        f'<p class="error" id="{error_id}">{escape(problem)}</p>',
        f' aria-invalid="true" aria-describedby="{error_id}"',
    )


def _question(q: Question, values: Mapping[str, str], problems: Mapping[str, str]) -> str:
    chosen = values.get(q.id, q.initial or "")
    error, attrs = _error(q.id, problems)
    required = "" if q.optional else ' aria-required="true"'
    choices = "".join(
        f'<label class="choice"><input type="radio" name="f:{escape(q.id)}" value="{escape(c.value)}"'
        f"{' checked' if c.value == chosen else ''}{attrs}> {inline(c.label)}</label>"
        for c in q.choices
    )
    style = "scale" if q.style == "scale" else "choices"
    return (
        f'<fieldset class="field {style}" data-field="{escape(q.id)}" role="radiogroup"{required}>'
        f"<legend>{inline(q.prompt)}{_required_mark(q.optional)}</legend>"
        f'<div class="options">{choices}</div>{error}</fieldset>'
    )


def _text_input(t: TextInput, values: Mapping[str, str], problems: Mapping[str, str]) -> str:
    value = values.get(t.id, t.initial or "")
    error, attrs = _error(t.id, problems)
    input_id = f"in-{escape(t.id)}"
    extra = attrs + ("" if t.optional else ' aria-required="true"')
    if t.max_length is not None:
        extra += f' maxlength="{t.max_length}"'
    if t.placeholder:
        extra += f' placeholder="{escape(t.placeholder)}"'
    name = f"f:{escape(t.id)}"
    box = (
        f'<textarea id="{input_id}" name="{name}" rows="3"{extra}>{escape(value)}</textarea>'
        if t.multiline
        else f'<input id="{input_id}" type="text" name="{name}" value="{escape(value)}"{extra}>'
    )
    return (
        f'<div class="field" data-field="{escape(t.id)}"><label for="{input_id}">{inline(t.label)}'
        f"{_required_mark(t.optional)}</label>{box}{error}</div>"
    )
