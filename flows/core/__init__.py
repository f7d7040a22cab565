"""The engine and what every flow shares. Nothing here imports a flow package (import-linter checks).

- engine.py: the Flow protocol, FlowContext, and the Engine (inbound events, the scheduler's tick);
- actions.py: the action router (exact action ids a flow declares);
- types.py: the neutral Events, Cards, Forms and Recipients adapters translate;
- outbox.py: writing a flow's messages to the outbox in its transaction;
- clock.py, recurrence.py, formatting.py: time, RRULEs in a team's zone, times as people read them;
- team_schedules.py: a team's meeting and quarterly-poll schedules (the team file sets them, flows run them);
- home.py: the person's home view, one line per flow's news.
"""
