"""Pulse trust polls (issue 5): the Relational Trust Self-Assessment on a cadence, anonymous by construction.

A co-chair (or the quarterly schedule) opens a poll; every member gets a private message saying why, who sees
what and when (001:L3537-3540), with a button that opens one form. A submit is kept sealed until close,
one encrypted row per person (storage/pulse_models.py, docs/privacy.md); answering again replaces it.
At close the answers are shuffled and stored with no person. Reminders go privately to those who have not
answered. At the deadline, or when a co-chair closes it once the minimum is
reached, the report goes to the team's channels and to each co-chair in one transaction: nobody previews.

The flow is split by what each part holds: flows/pulse_commands.py (the `pulse` command),
flows/pulse_answers.py (buttons, the form, submits and receipts), flows/pulse_lifecycle.py (opening,
reminders, close and release, forgetting), flows/pulse_schedule.py (the quarterly schedule and the team
file's pulse fields), flows/pulse_report.py, flows/pulse_cards.py and flows/pulse_chart.py.
"""

from __future__ import annotations

from collections.abc import Sequence

from flows.core.engine import Command, ScheduleHandler
from flows.pulse.answers import PulseAnswers
from flows.pulse.commands import PulseCommands
from flows.pulse.lifecycle import (
    DAILY_KIND,
    FLOW,
    FORGET_KIND,
    private_prefix,
    receipt_key,
)
from flows.pulse.schedule import QUARTERLY_KIND

__all__ = [
    "DAILY_KIND",
    "FLOW",
    "FORGET_KIND",
    "QUARTERLY_KIND",
    "PulseFlow",
    "private_prefix",
    "receipt_key",
]


class PulseFlow(PulseCommands, PulseAnswers):
    name = FLOW

    def commands(self) -> Sequence[Command]:
        return (
            Command(
                "pulse",
                "pulse start [trust|team|<poll>] · status · close · results · target · threshold · schedule",
                "Anonymous trust polls: start one (co-chairs), see how many answered, read released results.",
                self._command,
            ),
        )

    def schedule_handlers(self) -> dict[str, ScheduleHandler]:
        return {DAILY_KIND: self._daily, QUARTERLY_KIND: self._quarterly, FORGET_KIND: self._forget}
