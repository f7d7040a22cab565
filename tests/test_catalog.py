"""Every word a person reads comes from the message catalog (flows/core/catalog.py): no flow hands a card an
English sentence, every key the code names is in the English catalog with the placeholders the code fills
in, and the catalog has no dead entries. Content files (flows/content/) keep their own texts."""

from __future__ import annotations

import ast
import re
import string
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.core import catalog
from flows.core.catalog import UnknownKey, Words, is_key, language_of, messages, text

FLOWS = Path(catalog.__file__).resolve().parent.parent
SOURCES = sorted(p for p in FLOWS.rglob("*.py") if "content" not in p.relative_to(FLOWS).parts)

# Card constructors and the arguments of each that a person reads: (positional indexes, keywords).
READ: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = {
    "plain": ((0,), ("text",)),  # Card.plain
    "Card": ((0,), ("summary",)),
    "Text": ((0,), ("text",)),
    "Header": ((0,), ("text",)),
    "Context": ((0,), ("text",)),
    "Fields": ((0,), ("pairs",)),
    "Button": ((0,), ("label",)),
    "Choice": ((1,), ("label",)),
    "Question": ((1,), ("prompt",)),
    "TextInput": ((1,), ("label", "placeholder")),
    "Image": ((1,), ("alt",)),
    "Form": ((1,), ("title", "submit_label")),
    "Command": ((2,), ("summary",)),  # the help card's line: a catalog key
}
WORD = re.compile(r"[A-Za-z]+(?:['’][a-z]+)?")
# Calls whose first argument is a catalog key (`message` adds the `form.` prefix).
LOOKUPS = {"say": "", "text": "", "post": "", "message": "form.", "SetupError": ""}


def _trees() -> Iterator[tuple[Path, ast.Module]]:
    for path in SOURCES:
        yield path, ast.parse(path.read_text(encoding="utf-8"), str(path))


def _name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Call):  # words(person, team)("key", ...), Words(lang)("key", ...)
        inner = _name(func)
        return "say" if inner in ("words", "Words") else None
    return None


def _read_args(call: ast.Call, name: str) -> list[ast.expr]:
    positions, keywords = READ[name]
    args = [call.args[i] for i in positions if i < len(call.args)]
    return args + [k.value for k in call.keywords if k.arg in keywords]


def _english(value: str) -> bool:
    """A sentence or a capitalised word, not an id (`pulse.answer`), a key or punctuation."""
    if is_key(value):
        return False
    words = WORD.findall(value)
    return len(words) >= 2 or (len(words) == 1 and words[0][0].isupper() and len(words[0]) > 1)


def _literals(node: ast.expr) -> Iterator[str]:
    """The literal text in an argument: string constants and f-string parts, not inside another call
    (a lookup's key, a helper's arguments)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.JoinedStr):  # the parts around the placeholders, read together
        yield " {} ".join(
            p.value for p in node.values if isinstance(p, ast.Constant) and isinstance(p.value, str)
        )
    elif isinstance(node, ast.BinOp):
        yield from _literals(node.left)
        yield from _literals(node.right)
    elif isinstance(node, ast.IfExp):
        yield from _literals(node.body)
        yield from _literals(node.orelse)
    elif isinstance(node, ast.BoolOp):
        for value in node.values:
            yield from _literals(value)
    elif isinstance(node, ast.Tuple | ast.List):
        for element in node.elts:
            yield from _literals(element)


def test_no_flow_hands_a_card_an_english_sentence() -> None:
    found = []
    for path, tree in _trees():
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            name = _name(call)
            if name not in READ:
                continue
            for arg in _read_args(call, name):
                for literal in _literals(arg):
                    if _english(literal) or (name == "Command" and not is_key(literal)):
                        found.append(f"{path.relative_to(FLOWS.parent)}:{call.lineno}: {name}: {literal!r}")
    assert not found, "literal English passed to a card (use the catalog):\n" + "\n".join(found)


def _lookups() -> Iterator[tuple[str, ast.Call, str]]:
    """(catalog key, call, where) for every lookup whose key is written in the code."""
    for path, tree in _trees():
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            name = _name(call)
            where = f"{path.relative_to(FLOWS.parent)}:{call.lineno}"
            first = call.args[0] if call.args else None
            if name in LOOKUPS and isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield LOOKUPS[name] + first.value, call, where
            elif name == "Command" and len(call.args) > 2 and isinstance(call.args[2], ast.Constant):
                yield str(call.args[2].value), call, where


def _key_constants() -> set[str]:
    """Every key-shaped string in flows/ (keys held in constants, chosen in expressions, passed on)."""
    return {
        node.value
        for _, tree in _trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and is_key(node.value)
    }


def _placeholders(template: str) -> set[str]:
    return {re.split(r"[.\[]", field)[0] for _, field, _, _ in string.Formatter().parse(template) if field}


def test_every_key_the_code_names_is_in_the_catalog_with_its_placeholders_filled() -> None:
    english = messages("en")
    problems = []
    for key, call, where in _lookups():
        if key not in english:
            problems.append(f"{where}: no catalog entry {key!r}")
            continue
        if any(k.arg is None for k in call.keywords):
            continue  # **values: checked when it runs
        given = {k.arg for k in call.keywords if k.arg is not None}
        wanted = _placeholders(english[key])
        if given != wanted:
            problems.append(f"{where}: {key!r} takes {sorted(wanted)}, given {sorted(given)}")
    assert not problems, "\n".join(problems)


def test_the_catalog_has_no_dead_entries() -> None:
    form_keys = {f"form.{k}" for k in _key_constants()} | {
        f"form.{c.value}"
        for _, tree in _trees()
        for c in ast.walk(tree)
        if isinstance(c, ast.Constant) and isinstance(c.value, str) and c.value.isidentifier()
    }
    used = _key_constants() | form_keys
    dead = sorted(set(messages("en")) - used)
    assert not dead, f"catalog entries no code uses: {dead}"


def test_every_english_text_formats() -> None:
    for key, template in messages("en").items():
        values = dict.fromkeys(_placeholders(template), 1)
        assert text(key, "en", **values), key


def test_a_typo_in_a_key_fails_and_a_missing_translation_falls_back_to_english() -> None:
    with pytest.raises(UnknownKey):
        text("pulse.no_such_text")
    assert text("core.no_longer_in_use", "xx") == "That button is no longer in use."
    assert Words("fr")("pulse.receipt.first") == "Thank you — your answers are in."
    assert catalog.languages() == ["en", "es"]


class _Speaker:
    def __init__(self, language: str | None) -> None:
        self.language = language


def test_whose_language() -> None:
    assert language_of() == "en"
    assert language_of(_Speaker(None), _Speaker("es")) == "es"  # the team's
    assert language_of(_Speaker("fr"), _Speaker("es")) == "fr"  # the person's own wins
    assert language_of(team=_Speaker(None)) == "en"


def test_every_translation_has_an_english_key_and_its_placeholders() -> None:
    for lang in catalog.languages():
        for key, template in messages(lang).items():
            assert key in messages("en"), f"{lang}: {key} is not an English key"
            assert _placeholders(template) == _placeholders(messages("en")[key]), f"{lang}: {key}"
