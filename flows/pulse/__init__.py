"""Pulse trust polls: the flow (flow.py) and its parts."""
