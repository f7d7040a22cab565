"""Render neutral Cards as plain text: what the demo prints and the local transcript keeps."""

from __future__ import annotations

import re
import textwrap

from flows.core.types import Buttons, Card, Context, Divider, Fields, Header, Image, Question, Text, TextInput

WIDTH = 78
_BOLD = re.compile(r"\*\*(.+?)\*\*")


def _plain(text: str) -> str:
    return _BOLD.sub(r"\1", text)


KEY_WIDTH = 24  # a longer label goes on its own line, its value under it


def _fields(fields: Fields) -> list[str]:
    """Label and value side by side, the values lined up and wrapped; a long label (a command's usage)
    on a line of its own, so one long label does not push every value off the screen."""
    width = max((len(k) for k, _ in fields.pairs if len(k) <= KEY_WIDTH), default=0)
    lines: list[str] = []
    for key, value in fields.pairs:
        if len(key) <= KEY_WIDTH:
            first, rest = f"  {key.ljust(width)}  ", " " * (width + 4)
        else:
            lines.append(f"  {key}")
            first = rest = " " * 6
        lines.extend(
            textwrap.wrap(_plain(value), WIDTH, initial_indent=first, subsequent_indent=rest) or [first]
        )
    return lines


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
            lines.extend(_fields(element))
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
