"""The actions flow as the engine sees it: commands, the buttons and forms, the weekly digest's schedule,
and the reminder pass that runs on every tick."""

from __future__ import annotations

from collections.abc import Sequence

from flows.actions import cards
from flows.actions.buttons import ActionsButtons
from flows.actions.commands import ActionsCommands
from flows.actions.common import DIGEST_KIND, FLOW
from flows.actions.reminders import digest, reminder_pass
from flows.core.actions import ActionHandler
from flows.core.engine import ArrivalHandler, Command, ScheduleHandler, TickPass

__all__ = ["ActionsFlow"]


class ActionsFlow(ActionsCommands, ActionsButtons):
    name = FLOW

    def commands(self) -> Sequence[Command]:
        return (
            Command(
                "action",
                'action "Draft the survey" @person due friday',
                "actions.command.action",
                self._action,
            ),
            Command(
                "actions",
                "actions [mine · stats · done · drop · reopen · history · policy]",
                "actions.command.actions",
                self._actions,
            ),
            Command("wrapup", "wrapup", "actions.command.wrapup", self._wrapup),
        )

    def actions(self) -> dict[str, ActionHandler]:
        return {
            cards.DONE_ACTION: self._done_button,
            cards.UPDATE_ACTION: self._update_button,
            cards.UPDATE_SUBMIT: self._update_submit,
            cards.SNOOZE_ACTION: self._snooze_button,
            cards.SNOOZE_SUBMIT: self._snooze_submit,
            cards.CONFIRM_ACTION: self._confirm_button,
            cards.NEW_SUBMIT: self._new_submit,
        }

    def schedule_handlers(self) -> dict[str, ScheduleHandler]:
        return {DIGEST_KIND: digest}

    def arrivals(self) -> Sequence[ArrivalHandler]:
        return ()

    def tick_passes(self) -> Sequence[TickPass]:
        return (reminder_pass,)
