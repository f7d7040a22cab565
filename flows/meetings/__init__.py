"""Meetings: the reminder before each meeting with the norms and roles (norms.py), and the fair rotation of
roles (rotation.py)."""
