"""Pulse test helpers: a team big enough for the side view, answering through the local adapter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from storage import pulse
from storage.pulse_models import PulsePoll
from tests.conftest import Stack, team_spec


@pytest.fixture(autouse=True)
def _charts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "charts"
    monkeypatch.setenv("TANDEM_CHART_DIR", str(directory))
    return directory


def big_team(labor: int = 6, management: int = 6, others: int = 0, **overrides: Any) -> dict[str, Any]:
    """Co-chairs l0 (labor) and m0 (management), then labor l1.., management m1.., board o0.."""
    members = [
        {"name": f"Labor {i}", "side": "labor", "co_chair": i == 0, "local": f"l{i}"} for i in range(labor)
    ]
    members += [
        {"name": f"Manager {i}", "side": "management", "co_chair": i == 0, "local": f"m{i}"}
        for i in range(management)
    ]
    members += [{"name": f"Board {i}", "side": "board", "local": f"o{i}"} for i in range(others)]
    return team_spec(members=members, **overrides)


def all_items(value: int = 4) -> dict[str, str]:
    from flows.content.instruments import instruments

    return {item.id: str(value) for item in instruments()["relational-trust"].items}


async def current_poll(stack: Stack, team_id: int) -> PulsePoll:
    async with stack.sessions() as session:
        poll = await pulse.open_poll(session, team_id)
    assert poll is not None
    return poll


async def answer(stack: Stack, user: str, poll_id: int, values: dict[str, str]) -> None:
    """Click the invitation's button, then submit the form it opened."""
    await stack.local.click(user, "pulse.answer", str(poll_id))
    form = stack.local.last_form
    assert form is not None, stack.local.transcript[-1].text if stack.local.transcript else "no form"
    await stack.local.submit(user, form.form_id, values)
    await stack.worker.drain()
