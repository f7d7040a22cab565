"""Joint talking points and the decision log (issue 18; docs/talking-points.md).

Read in this order: flow.py (commands, buttons, forms), drafts.py (proposing, editing, corrections,
one-side updates), approval.py (two-side approval bound to the exact text, publishing once),
decisions.py (the decision log and its reopen votes), cards.py (what people see), rules.py (the pure
rules: the hash, both sides, platform limits, 75 %), people.py (who may do what).
"""
