"""A Form's rules, checked before a submit reaches the flow, and the words that say what is wrong.

Each input of a Form carries its rules (flows/types.py): a `Question` must be answered unless `optional`,
with one of its choices; a `TextInput` must be filled in unless `optional`, within `min_length` and
`max_length`. `check` is the one pure check every adapter uses: Slack answers a modal's submit with the
problems beside the fields (`response_action: errors`), Teams and the local adapter reply with
`refusal`. Nothing is recorded for a refused submit: it never reaches the engine. The flow still checks
what it is given (a stale form, a client that ignores the rules) and has the last word.

The messages are the catalog's `form.*` texts (flows/core/catalog.py), in the language the caller names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flows.core.catalog import DEFAULT_LANGUAGE, languages, text
from flows.core.types import Card, Element, Question, Text, TextInput, one_line


def message(key: str, lang: str = DEFAULT_LANGUAGE, /, **values: Any) -> str:
    """The form message `key` (`choose`, `fill_in`, `off_scale`, …: `form.<key>` in the catalog)."""
    return text(f"form.{key}", lang, **values)


def known_language(value: Any) -> str:
    """A form's language as it came back from a platform (untrusted): one we have a catalog for, else
    English."""
    return value if isinstance(value, str) and value in languages() else DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Rule:
    """What one input of a form accepts. `label`: the input as the person sees it (a reply names it)."""

    label: str = ""
    required: bool = True
    choices: tuple[str, ...] = ()  # the value must be one of these (a Question); () takes any text
    min_length: int | None = None
    max_length: int | None = None


def rules_of(elements: Iterable[Element]) -> dict[str, Rule]:
    """The rules of a Form's inputs, by input id (a Slack block id, an Adaptive Card input id)."""
    rules: dict[str, Rule] = {}
    for element in elements:
        if isinstance(element, Question):
            choices = tuple(c.value for c in element.choices)
            rules[element.id] = Rule(element.prompt, not element.optional, choices)
        elif isinstance(element, TextInput):
            rules[element.id] = Rule(
                element.label, not element.optional, (), element.min_length, element.max_length
            )
    return rules


def _numbers(choices: tuple[str, ...]) -> tuple[int, int] | None:
    """(low, high) when the choices are the whole numbers low..high (a scale), else None."""
    if not choices or not all(c.lstrip("-").isdigit() for c in choices):
        return None
    numbers = sorted(int(c) for c in choices)
    return (numbers[0], numbers[-1]) if numbers == list(range(numbers[0], numbers[-1] + 1)) else None


def check(
    rules: Mapping[str, Rule], values: Mapping[str, str], lang: str = DEFAULT_LANGUAGE
) -> dict[str, str]:
    """What is wrong with `values` (input id → submitted text) under `rules`: input id → the message to show
    beside it, in the rules' order; {} when the submit may go on. Values no rule names are the flow's
    business."""
    problems: dict[str, str] = {}
    for field_id, rule in rules.items():
        raw = values.get(field_id) or ""
        value = raw.strip()
        if not value:
            if rule.required:
                problems[field_id] = message("choose" if rule.choices else "fill_in", lang)
            continue
        if rule.choices and value not in rule.choices:
            scale = _numbers(rule.choices)
            shown = one_line(value, 20)
            problems[field_id] = (
                message("off_scale", lang, value=shown, low=scale[0], high=scale[1])
                if scale is not None
                else message("not_a_choice", lang, value=shown)
            )
        elif rule.max_length is not None and len(raw) > rule.max_length:
            problems[field_id] = message("too_long", lang, limit=rule.max_length, length=len(raw))
        elif rule.min_length is not None and len(value) < rule.min_length:
            problems[field_id] = message("too_short", lang, limit=rule.min_length, length=len(value))
    return problems


def refusal(rules: Mapping[str, Rule], problems: Mapping[str, str], lang: str = DEFAULT_LANGUAGE) -> Card:
    """The reply to a refused submit where the platform cannot show a problem beside its field (Teams, the
    local adapter): each input named, with the same message Slack shows beside it."""
    many = len(problems) > 1
    head = message("refused", lang, count=len(problems)) if many else message("refused_one", lang)
    lines = []
    for field_id, problem in problems.items():
        rule = rules.get(field_id)
        label = one_line(rule.label, 120) if rule is not None and rule.label else field_id
        lines.append(message("problem", lang, label=label, problem=problem))
    return Card(summary=one_line(head), elements=(Text(head), *(Text(line) for line in lines)))


def rules_to_data(rules: Mapping[str, Rule]) -> dict[str, Any]:
    """The rules as JSON-able data (carried in a Teams form's submit action, back with the inputs)."""
    data: dict[str, Any] = {}
    for field_id, rule in rules.items():
        item: dict[str, Any] = {"label": rule.label}
        if not rule.required:
            item["optional"] = True
        if rule.choices:
            item["choices"] = list(rule.choices)
        if rule.min_length is not None:
            item["min_length"] = rule.min_length
        if rule.max_length is not None:
            item["max_length"] = rule.max_length
        data[field_id] = item
    return data


def _length(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def rules_from_data(data: Any) -> dict[str, Rule]:
    """`rules_to_data` back; anything malformed is skipped (no rule, the flow checks it)."""
    if not isinstance(data, dict):
        return {}
    rules: dict[str, Rule] = {}
    for field_id, item in data.items():
        if not isinstance(item, dict):
            continue
        choices = item.get("choices")
        rules[str(field_id)] = Rule(
            label=str(item.get("label") or ""),
            required=item.get("optional") is not True,
            choices=tuple(str(c) for c in choices) if isinstance(choices, list) else (),
            min_length=_length(item.get("min_length")),
            max_length=_length(item.get("max_length")),
        )
    return rules
