"""Check-ins (issue 16): the team's recurring asynchronous check-in in chat, each person asked at the
check-in time in their own zone, nobody asked on a team holiday or while away, answers editable until the
window closes, a digest that names who answered and never who did not, an optional anonymous mood.

In reading order:

- flow.py: the flow as the engine sees it (its command, actions and schedules);
- commands.py: the `checkin` command (status, schedule, off, prompts, questions, mood, mute, unmute,
  trend, digest, zone);
- runs.py: preparing a run (who, when, in which zone), the reminder, the close and the digest;
- answers.py: the button, the form, submits and receipts;
- trend.py: participation and mood over the last quarter, as text and chart;
- cards.py: what the flow says.

Shared with other packages: the settings and the schedule (flows/core/checkin_settings.py, which the team
file also sets), the team calendar (flows/core/calendar.py, storage/calendar.py), the chart
(flows/core/chart.py). Stored in storage/checkins.py (storage/checkin_models.py).
"""
