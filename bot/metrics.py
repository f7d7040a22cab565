"""Prometheus text exposition for `GET /metrics`, without a client library."""

from __future__ import annotations

from collections.abc import Iterable


def render(samples: Iterable[tuple[str, str, str, dict[str, str], float]]) -> str:
    """Samples are (name, type, help, labels, value); one HELP/TYPE header per name."""
    lines: list[str] = []
    seen: set[str] = set()
    for name, kind, help_text, labels, value in samples:
        if name not in seen:
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} {kind}")
            seen.add(name)
        label_text = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        lines.append(f"{name}{{{label_text}}} {value:g}" if label_text else f"{name} {value:g}")
    return "\n".join(lines) + "\n"
