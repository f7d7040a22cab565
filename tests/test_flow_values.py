"""Flows get plain values from storage and change what is stored through storage functions (issue 14): no
flow sets an attribute of, or an item inside, an object it did not make itself (`self`, or the FlowContext
it was handed). A flow that wrote `poll.status = ...` or `team.settings["x"] = ...` fails here, and so does a
flow that imports an ORM module (`storage.models`, `storage.pulse_models`, any `storage/*_models.py`) or
calls a storage function whose return type names an ORM class: what flows get from storage are values such
as `TeamView`, `PersonView` and `PollView`."""

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


def _orm_classes() -> set[str]:
    """The mapped classes: those the ORM modules derive from `Base` (storage/models.py)."""
    return {
        node.name
        for path in (FLOWS.parent / "storage").glob("*models.py")
        for node in ast.parse(path.read_text(encoding="utf-8")).body
        if isinstance(node, ast.ClassDef) and any(ast.unparse(base) == "Base" for base in node.bases)
    }


def _returning_orm(classes: set[str]) -> dict[tuple[str, str], str]:
    """(storage module, function) → its return annotation, for every storage function that returns rows."""
    found = {}
    for path in (FLOWS.parent / "storage").glob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns is not None:
                parts = ast.walk(node.returns)
                names = {
                    n.id if isinstance(n, ast.Name) else n.attr
                    for n in parts
                    if isinstance(n, ast.Name | ast.Attribute)
                }
                if names & classes:
                    found[(path.stem, node.name)] = ast.unparse(node.returns)
    return found


def _storage_calls(tree: ast.Module) -> list[tuple[int, str, str]]:
    """(line, storage module, function) of every call of a storage function: `teams.members(...)` after
    `from storage import teams`, `store.open_poll(...)` after `from storage import pulse as store`,
    `schedule_view(...)` after `from storage.schedules import schedule_view`."""
    modules: dict[str, str] = {}
    functions: dict[str, tuple[str, str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "storage":
            modules.update({a.asname or a.name: a.name for a in node.names})
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("storage."):
            module = (node.module or "").removeprefix("storage.")
            functions.update({a.asname or a.name: (module, a.name) for a in node.names})
    calls = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in modules:
            calls.append((node.lineno, modules[func.value.id], func.attr))
        elif isinstance(func, ast.Name) and func.id in functions:
            calls.append((node.lineno, *functions[func.id]))
    return calls


def test_no_flow_calls_a_storage_function_that_returns_rows() -> None:
    returning = _returning_orm(_orm_classes())
    offenders = [
        f"{path.relative_to(FLOWS.parent)}:{line}: storage.{module}.{name} -> {returning[(module, name)]}"
        for path in sorted(FLOWS.rglob("*.py"))
        for line, module, name in _storage_calls(ast.parse(path.read_text(encoding="utf-8")))
        if (module, name) in returning
    ]
    assert not offenders, "flows get frozen values from storage, not rows:\n" + "\n".join(offenders)


def test_the_check_sees_a_call_returning_rows() -> None:
    assert {"Person", "PulsePoll", "Identity", "TeamChannel"} <= _orm_classes()
    assert ("teams", "team_by_name") in _returning_orm(_orm_classes())  # the CLI's, with members loaded
    tree = ast.parse(
        "from storage import pulse as store, teams\nfrom storage.teams import team_by_name as by_name\n"
        "store.open_poll(s, 1)\nteams.team_by_name(s, 'a')\nby_name(s, 'a')\nctx.teams.x()\n"
    )
    assert [call[1:] for call in _storage_calls(tree)] == [
        ("pulse", "open_poll"),
        ("teams", "team_by_name"),
        ("teams", "team_by_name"),
    ]
