"""The platform-neutral conversation-flow engine and its flows."""

from __future__ import annotations

from flows.core.engine import Flow


def default_flows() -> list[Flow]:
    """Every flow Tandem runs, in the order `help` lists their commands."""
    from flows.actions.flow import ActionsFlow
    from flows.calendar.flow import CalendarFlow
    from flows.meetings.norms import NormsFlow
    from flows.pulse.flow import PulseFlow
    from flows.setup.chat import ChatSetupFlow
    from flows.setup.team_file import TeamFlow
    from flows.setup.welcome import WelcomeFlow
    from flows.talking_points.flow import TalkingPointsFlow

    return [
        TeamFlow(),
        NormsFlow(),
        PulseFlow(),
        CalendarFlow(),
        ActionsFlow(),
        TalkingPointsFlow(),
        ChatSetupFlow(),
        WelcomeFlow(),
    ]
