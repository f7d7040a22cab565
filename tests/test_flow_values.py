"""Flows get plain values from storage and change what is stored through storage functions (issue 14): no
flow sets an attribute of, or an item inside, an object it did not make itself (`self`, or the FlowContext
it was handed). A flow that wrote `poll.status = ...` or `team.settings["x"] = ...` fails here, and so does a
flow that imports an ORM module (`storage.models`, `storage.pulse_models`, any `storage/*_models.py`): what
it gets from storage are values such as `TeamView`, `PersonView` and `PollView`."""

from __future__ import annotations

import ast
from pathlib import Path

FLOWS = Path(__file__).resolve().parent.parent / "flows"
ORM_MODULES = {f"storage.{path.stem}" for path in (FLOWS.parent / "storage").glob("*models.py")}
OWN = {"self", "ctx", "report"}  # report: the tick's own tally (flows/core/engine.py)


def _root(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _writes(tree: ast.Module) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            for part in target.elts if isinstance(target, ast.Tuple) else [target]:
                stored = isinstance(part, ast.Attribute) or (
                    isinstance(part, ast.Subscript) and isinstance(part.value, ast.Attribute)
                )
                if stored and _root(part) not in OWN:
                    found.append((node.lineno, ast.unparse(part)))
    return found


def test_no_flow_mutates_a_stored_object() -> None:
    offenders = [
        f"{path.relative_to(FLOWS.parent)}:{line}: {what}"
        for path in sorted(FLOWS.rglob("*.py"))
        for line, what in _writes(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert not offenders, "flows change stored rows through storage functions:\n" + "\n".join(offenders)


def test_the_check_sees_a_mutation() -> None:
    tree = ast.parse("poll.status = 'closed'\nteam.settings['a'] = 1\nself.x = 1\nctx.form = None\n")
    assert [what for _, what in _writes(tree)] == ["poll.status", "team.settings['a']"]


def _orm_imports(tree: ast.Module) -> list[tuple[int, str]]:
    """Every import of an ORM module: `import storage.models`, `from storage.models import Person`,
    `from storage import pulse_models`."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        found += [(node.lineno, name) for name in names if name in ORM_MODULES]
    return found


def test_no_flow_imports_an_orm_module() -> None:
    offenders = [
        f"{path.relative_to(FLOWS.parent)}:{line}: {name}"
        for path in sorted(FLOWS.rglob("*.py"))
        for line, name in _orm_imports(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert not offenders, "flows get values from storage functions, not ORM rows:\n" + "\n".join(offenders)


def test_the_check_sees_an_orm_import() -> None:
    assert {"storage.models", "storage.pulse_models", "storage.action_models"} <= ORM_MODULES
    tree = ast.parse(
        "from storage.models import Person\nimport storage.pulse_models\nfrom storage import action_models\n"
        "from storage import pulse, teams\nfrom storage.teams import TeamView\n"
    )
    assert [name for _, name in _orm_imports(tree)] == [
        "storage.models",
        "storage.pulse_models",
        "storage.action_models",
    ]
