"""JSON from the network, read safely at the edge: every adapter's inbound half reads request bodies here.

`load` parses a body and refuses, with a reason (`InputError`, answered 400 by the caller), what would
crash the server further in: nesting deeper than `MAX_DEPTH` (the JSON decoder's own recursion limit is a
RecursionError, and so is every recursive walk after it), a lone UTF-16 surrogate (`"\\ud800"`, valid
JSON but not encodable: the database driver and the idempotency key's hash fail on it) and a NUL character
(`"\\u0000"`, valid JSON that PostgreSQL's text refuses). `problem` checks an already-parsed value the same
way. `need_str` and friends check one field's JSON type.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64  # Slack's modal payloads nest about 10 deep, Teams' activities and card data less
# A lone surrogate can only come from a \uD800–\uDFFF escape (strict UTF-8 decoding refuses encoded ones)
# and a NUL from \u0000 (JSON refuses raw control characters in strings), so the string walk runs only for
# a body that has such an escape (a valid pair, an emoji, has two).
_UNSTORABLE_ESCAPE = re.compile(r"\\u(?:[dD][89a-fA-F][0-9a-fA-F]{2}|0000)")


class InputError(ValueError):
    """A body or field the edge refuses; the message is the reason returned with the 4xx."""


def load(raw: bytes | str, what: str = "body") -> Any:
    """Parse JSON; InputError(reason) for invalid JSON, too deep a nesting, a lone surrogate or a NUL."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise InputError(f"the {what} is not UTF-8") from exc
    try:
        value = json.loads(text)
    except RecursionError as exc:
        raise InputError(f"the {what} is nested too deep (more than {MAX_DEPTH} levels)") from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"the {what} is not JSON ({exc.msg} at {exc.pos})") from exc
    found = problem(value, strings=bool(_UNSTORABLE_ESCAPE.search(text)), what=what)
    if found:
        raise InputError(found)
    return value


def problem(value: Any, *, strings: bool = True, what: str = "body") -> str | None:
    """What is wrong with a parsed JSON value (too deep; a lone surrogate or a NUL in a key or string), or
    None. Iterative: no recursion, whatever the depth."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth > MAX_DEPTH:
                return f"the {what} is nested too deep (more than {MAX_DEPTH} levels)"
            for key, child in item.items():
                if strings and (why := unstorable(key)):
                    return f"the {what} has {why} in a key"
                if isinstance(child, dict | list):
                    stack.append((child, depth + 1))
                elif strings and isinstance(child, str) and (why := unstorable(child)):
                    return f"the {what} has {why} in {str(key)[:40]!r}"
        elif isinstance(item, list):
            if depth > MAX_DEPTH:
                return f"the {what} is nested too deep (more than {MAX_DEPTH} levels)"
            for child in item:
                if isinstance(child, dict | list):
                    stack.append((child, depth + 1))
                elif strings and isinstance(child, str) and (why := unstorable(child)):
                    return f"the {what} has {why} in a list item"
        elif strings and isinstance(item, str) and (why := unstorable(item)):
            return f"the {what} has {why}"
    return None


def unstorable(value: str) -> str | None:
    """Why a string cannot be stored, or None: PostgreSQL's text holds no NUL, UTF-8 no lone surrogate."""
    if "\x00" in value:
        return "a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "a lone surrogate"
    return None


def field_problem(
    data: Any, path: str, kind: type | tuple[type, ...], *, required: bool = False
) -> str | None:
    """`data`'s field at the dotted `path` ("team.id") is absent/null (unless `required`) or of JSON type
    `kind`; else the reason. Absent parents count as absent; a parent of the wrong type is a problem."""
    current = data
    walked: list[str] = []
    for name in path.split("."):
        if current is None:
            break
        if not isinstance(current, dict):
            return f"{'.'.join(walked) or 'the body'} must be an object"
        current = current.get(name)
        walked.append(name)
    if current is None:
        return f"{path} is missing" if required else None
    if not isinstance(current, kind) or (isinstance(current, bool) and bool not in _kinds(kind)):
        names = " or ".join(k.__name__ for k in _kinds(kind))
        return f"{path} must be a {_JSON_NAMES.get(names, names)}"
    return None


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


_JSON_NAMES = {"str": "string", "dict": "object", "list": "list", "int": "number", "bool": "boolean"}


def first_problem(data: Any, fields: list[tuple[str, type | tuple[type, ...]]]) -> str | None:
    """The first of `fields` (path, JSON type) that `data` has with a wrong type, or None."""
    for path, kind in fields:
        found = field_problem(data, path, kind)
        if found:
            return found
    return None


def first_too_long(data: Any, limits: list[tuple[str, int]]) -> str | None:
    """The first string field at a dotted path longer than its limit (what the database column holds), as
    a reason; None when all fit. Fields that are absent or not strings are not this check's business."""
    for path, limit in limits:
        current = data
        for name in path.split("."):
            current = current.get(name) if isinstance(current, dict) else None
        if isinstance(current, str) and len(current) > limit:
            return f"{path} is longer than {limit} characters"
    return None
