"""The check-in flow as the engine sees it: the `checkin` command, the answer button and form, the run
schedule (prepared a day ahead, many teams' runs at once), each run's reminder and close. What each does
lives in the modules named in flows/checkins/__init__.py."""

from __future__ import annotations

from collections.abc import Sequence

from flows.checkins import cards
from flows.checkins.commands import CheckinCommands
from flows.checkins.runs import CLOSE_KIND, FLOW, REMIND_KIND
from flows.core.actions import ActionHandler
from flows.core.checkin_settings import RUN_KIND
from flows.core.engine import ArrivalHandler, BatchScheduleHandler, Command, ScheduleHandler

__all__ = ["CheckinsFlow"]


class CheckinsFlow(CheckinCommands):
    name = FLOW

    def commands(self) -> Sequence[Command]:
        return (
            Command(
                "checkin",
                "checkin · schedule · off · prompts · questions · mood · mute · unmute · trend · digest",
                "checkins.command",
                self._command,
            ),
        )

    def actions(self) -> dict[str, ActionHandler]:
        return {cards.ANSWER: self._answer, cards.SUBMIT: self._submit}

    def schedule_handlers(self) -> dict[str, ScheduleHandler]:
        return {REMIND_KIND: self._remind, CLOSE_KIND: self._close}

    def schedule_batch_handlers(self) -> dict[str, BatchScheduleHandler]:
        # runs are prepared many at once: a district's teams are often due in the same minute
        return {RUN_KIND: self._prepare}

    def arrivals(self) -> Sequence[ArrivalHandler]:
        return ()
