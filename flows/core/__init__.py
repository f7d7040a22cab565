"""The engine and what every flow shares: neutral types, the outbox API, the clock, recurrence, formatting,
the team's schedules and the home view. Nothing here imports a flow package."""
