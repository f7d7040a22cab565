"""Setting a team up: the team file and the `team` command (team_file.py), and `setup` in a channel
(chat.py)."""
