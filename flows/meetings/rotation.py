"""Fair rotation of meeting roles: nobody holds a role again until every member has held it.

Pure functions over the assignment history, so the rule is easy to test and to explain:
for each role, the candidates are the members who have held it the fewest times; among them whoever
has held the fewest roles of any kind, then whoever held one longest ago, then the team's own member
order. One meeting's roles go to different people when the team is big enough; the fairness rule wins
over that when both cannot hold.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PastAssignment:
    role: str
    person_id: int
    passed: bool


def _standing(
    role: str, members: Sequence[int], history: Sequence[PastAssignment]
) -> dict[int, tuple[int, int, int]]:
    """Per member: (times held this role, roles held in all, index of their latest role or -1).
    Passes do not count as holding."""
    held = dict.fromkeys(members, 0)
    total = dict.fromkeys(members, 0)
    last = dict.fromkeys(members, -1)
    for index, past in enumerate(history):
        if past.passed or past.person_id not in held:
            continue
        total[past.person_id] += 1
        last[past.person_id] = index
        if past.role == role:
            held[past.person_id] += 1
    return {m: (held[m], total[m], last[m]) for m in members}


def candidates(
    role: str, members: Sequence[int], history: Sequence[PastAssignment], exclude: Iterable[int] = ()
) -> list[int]:
    """Members who may take `role` now without breaking fairness, best first: among those who held it
    the fewest times, whoever has held fewest roles overall, then longest ago, then the team's order."""
    excluded = set(exclude)
    standing = _standing(role, members, history)
    order = {m: i for i, m in enumerate(members)}
    pool = [m for m in members if m not in excluded]
    if not pool:
        return []
    fewest = min(standing[m][0] for m in pool)
    # Someone who passed is not excluded next time: their lower count puts them first in line.
    fair = [m for m in pool if standing[m][0] == fewest]
    return sorted(fair, key=lambda m: (standing[m][1], standing[m][2], order[m]))


def assign_roles(
    roles: Sequence[str], members: Sequence[int], history: Sequence[PastAssignment]
) -> dict[str, int]:
    """Roles for the next meeting. Backtracks to give distinct people every role where fairness allows."""
    if not members:
        return {}

    def search(index: int, taken: dict[str, int]) -> dict[str, int] | None:
        if index == len(roles):
            return dict(taken)
        role = roles[index]
        for person in candidates(role, members, history):
            if person in taken.values():
                continue
            taken[role] = person
            found = search(index + 1, taken)
            if found is not None:
                return found
            del taken[role]
        return None

    distinct = search(0, {})
    if distinct is not None:
        return distinct
    # Too few members for distinct people within fairness: fairness first, doubling up allowed.
    return {role: candidates(role, members, history)[0] for role in roles}


def next_after_pass(
    role: str,
    members: Sequence[int],
    history: Sequence[PastAssignment],
    passed_by: Iterable[int],
    busy: Iterable[int],
) -> int | None:
    """Who takes `role` when its holder passes: the fairest member who has not passed on it at this
    meeting, preferring someone without another role at this meeting."""
    excluded = set(passed_by)
    busy_set = set(busy)
    free = candidates(role, members, history, exclude=excluded | busy_set)
    if free:
        return free[0]
    anyone = candidates(role, members, history, exclude=excluded)
    return anyone[0] if anyone else None
