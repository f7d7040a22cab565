"""Action items and follow-through (issue 17): promises with owners and due dates, reminders, the
team's follow-through rate. Reads top to bottom: flow.py, commands.py, buttons.py, changes.py, reminders.py,
policy.py, capture.py, dates.py, cards.py."""
