"""Render neutral Cards as plain text: what the demo prints and the local transcript keeps."""

from __future__ import annotations

import re
import textwrap

from flows.types import Buttons, Card, Context, Divider, Fields, Header, Image, Question, Text, TextInput

WIDTH = 78
_BOLD = re.compile(r"\*\*(.+?)\*\*")


def _plain(text: str) -> str:
    return _BOLD.sub(r"\1", text)


def _wrap(text: str, indent: str = "") -> list[str]:
    lines: list[str] = []
    for paragraph in _plain(text).split("\n"):
        lines.extend(textwrap.wrap(paragraph, WIDTH, initial_indent=indent, subsequent_indent=indent) or [""])
    return lines


def render_text(card: Card) -> str:
    lines: list[str] = []
    for element in card.elements:
        if isinstance(element, Header):
            lines.append(_plain(element.text).upper() if len(element.text) < 40 else _plain(element.text))
        elif isinstance(element, Text):
            lines.extend(_wrap(element.text))
        elif isinstance(element, Fields):
            width = max(len(k) for k, _ in element.pairs) if element.pairs else 0
            lines.extend(f"  {k.ljust(width)}  {_plain(v)}" for k, v in element.pairs)
        elif isinstance(element, Question):
            lines.append(_plain(element.prompt))
            lines.append("  " + "  ".join(f"({c.value}) {c.label}" for c in element.choices))
        elif isinstance(element, TextInput):
            lines.append(f"  [{element.label}: ________ ]")
        elif isinstance(element, Buttons):
            lines.append("  " + "  ".join(f"[ {b.label} ]" for b in element.buttons))
        elif isinstance(element, Image):
            lines.append(f"  <image: {element.alt} — {element.url}>")
        elif isinstance(element, Context):
            lines.extend(_wrap(element.text, "  · "))
        elif isinstance(element, Divider):
            lines.append("  " + "-" * 20)
    return "\n".join(lines)
