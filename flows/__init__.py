"""The platform-neutral conversation-flow engine and its flows."""

from __future__ import annotations

from flows.core.engine import Flow


def default_flows() -> list[Flow]:
    """Every flow Tandem runs, in the order `help` lists their commands."""
    from flows.actions.flow import ActionsFlow
    from flows.calendar.flow import CalendarFlow
    from flows.checkins.flow import CheckinsFlow
    from flows.meetings.norms import NormsFlow
    from flows.pulse.flow import PulseFlow
    from flows.setup.chat import ChatSetupFlow
    from flows.setup.team_file import TeamFlow
    from flows.setup.welcome import WelcomeFlow
    from flows.talking_points.flow import TalkingPointsFlow

    # The order of `help`, and of the ten commands Teams suggests (its limit): what a team uses every week
    # first, then meetings, the calendar and setting up.
    return [
        CheckinsFlow(),
        ActionsFlow(),
        TalkingPointsFlow(),
        PulseFlow(),
        NormsFlow(),
        CalendarFlow(),
        TeamFlow(),
        ChatSetupFlow(),
        WelcomeFlow(),
    ]
