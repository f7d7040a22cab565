"""Pulse trust polls (issue 5): the Relational Trust Self-Assessment on a cadence, anonymous by construction.

A co-chair (or the quarterly schedule) opens a poll; every member gets a private message saying why, who sees
what and when (001:L3537-3540), with a button that opens one form. A submit is kept sealed until close,
one encrypted row per person (storage/pulse_models.py, docs/privacy.md); answering again replaces it.
At close the answers are shuffled and stored with no person. Reminders go privately to those who have not
answered. At the deadline, or when a co-chair closes it once the minimum is
reached, the report goes to the team's channels and to each co-chair in one transaction: nobody previews.

In reading order:

- flow.py: the flow as the engine sees it (its command, actions and schedules);
- commands.py: the `pulse` command (start, status, close, results, target, threshold, schedule);
- answers.py: the answer buttons, the form, submits and receipts;
- lifecycle.py: opening, reminders, close and release, the quarterly opening, forgetting;
- cards.py: what the flow says; report.py: the report's arithmetic; chart.py: the trend chart.

Shared with other packages: the quarterly schedule (flows/core/team_schedules.py, the team file sets it)
and the instruments with a team's own polls (flows/content/instruments.py).
"""
