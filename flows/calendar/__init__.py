"""The team calendar in chat: away days, team holidays, skipping or moving one meeting."""
