"""The pulse flow as the engine sees it: the `pulse` command, the answer buttons and form, the schedules.
What each does lives in the modules named in flows/pulse/__init__.py."""

from __future__ import annotations

from collections.abc import Sequence

from flows.core.actions import ActionHandler
from flows.core.engine import ArrivalHandler, Command, ScheduleHandler
from flows.core.team_schedules import QUARTERLY_KIND
from flows.pulse import cards
from flows.pulse.answers import PulseAnswers
from flows.pulse.commands import PulseCommands
from flows.pulse.lifecycle import DAILY_KIND, FLOW, FORGET_KIND

__all__ = ["PulseFlow"]


class PulseFlow(PulseCommands, PulseAnswers):
    name = FLOW

    def commands(self) -> Sequence[Command]:
        return (
            Command(
                "pulse",
                "pulse start [trust|team|<poll>] · status · close · results · target · threshold · schedule",
                "pulse.command",
                self._command,
            ),
        )

    def actions(self) -> dict[str, ActionHandler]:
        return {cards.ANSWER: self._answer, cards.CHANGE: self._answer, cards.SUBMIT: self._submit}

    def schedule_handlers(self) -> dict[str, ScheduleHandler]:
        return {DAILY_KIND: self._daily, QUARTERLY_KIND: self._quarterly, FORGET_KIND: self._forget}

    def arrivals(self) -> Sequence[ArrivalHandler]:
        return ()
