"""The platform-neutral conversation-flow engine and its flows."""

from __future__ import annotations

from flows.engine import Flow


def default_flows() -> list[Flow]:
    """Every flow Tandem runs, in the order `help` lists their commands."""
    from flows.chat_setup import ChatSetupFlow
    from flows.norms import NormsFlow
    from flows.pulse import PulseFlow
    from flows.team_setup import TeamFlow

    return [TeamFlow(), NormsFlow(), PulseFlow(), ChatSetupFlow()]
