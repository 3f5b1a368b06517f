"""The ledger is a pure package: nothing under ledger/ imports flask or marketplace."""

import ast
from pathlib import Path

LEDGER = Path(__file__).resolve().parent.parent / "ledger"
FORBIDDEN = (
    "flask",
    "flask_sqlalchemy",
    "flask_login",
    "flask_wtf",
    "flask_migrate",
    "marketplace",
)


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_ledger_never_imports_the_web_layer():
    offenders = []
    files = sorted(LEDGER.rglob("*.py"))
    assert files, "ledger/ has no modules"
    for path in files:
        for name in imported_modules(path):
            if name.split(".")[0] in FORBIDDEN:
                offenders.append(f"{path.relative_to(LEDGER.parent)} imports {name}")
    assert offenders == []


def test_the_checker_catches_a_forbidden_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from flask import Flask\nimport marketplace.models\n")
    assert {"flask", "marketplace.models"} <= imported_modules(bad)
