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


# --- feature packages --------------------------------------------------------------------------

MARKETPLACE = LEDGER.parent / "marketplace"
KERNEL = {
    "__init__",  # create_app: the app factory, and the only module that mounts blueprints
    "audit",
    "chart",
    "clock",
    "config",
    "errors",
    "extensions",
    "formatting",
    "logs",
    "mail",
    "model_registry",
    "navigation",
}
def feature_of(path: Path) -> str | None:
    """The feature package a module of marketplace/ belongs to (None: the shared kernel)."""
    parts = path.relative_to(MARKETPLACE).parts
    return parts[0] if len(parts) > 1 else None


def test_every_module_is_in_a_feature_package_or_the_shared_kernel():
    loose = {p.stem for p in MARKETPLACE.glob("*.py")}
    assert loose == KERNEL


def test_no_folder_holds_more_than_twelve_modules():
    folders = [LEDGER, MARKETPLACE, *[p for p in (LEDGER.parent / "marketplace").rglob("*")
                                      if p.is_dir() and p.name != "__pycache__"]]  # fmt: skip
    crowded = {str(f): n for f in folders if (n := len(list(f.glob("*.py")))) > 12}
    assert crowded == {}


def view_modules() -> set[str]:
    """Dotted names of the modules that register routes on their feature's blueprint."""
    found = set()
    for path in MARKETPLACE.rglob("*.py"):
        feature = feature_of(path)
        if feature and f"from marketplace.{feature} import bp" in path.read_text():
            module = path.relative_to(MARKETPLACE).with_suffix("").parts
            found.add(".".join(("marketplace", *module)))
    return found


def blueprint_imports(source: str, own: str | None, views: set[str]) -> list[str]:
    """The imports, in a module of feature `own`, of another feature's blueprint or views."""
    offending = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ImportFrom) or not node.module or node.level:
            continue
        parts = node.module.split(".")
        if parts[0] != "marketplace" or len(parts) < 2 or parts[1] == own:
            continue
        imported = {f"{node.module}.{alias.name}" for alias in node.names} | {node.module}
        if imported & views or any(alias.name == "bp" for alias in node.names):
            offending.append(node.module)
    return offending


def test_no_feature_imports_another_features_blueprint_or_views():
    """A feature may call another feature's services, never its routes; only the app factory
    (marketplace/__init__.py) imports blueprints to mount them."""
    views = view_modules()
    assert "marketplace.studio.routes" in views and "marketplace.admin.payouts" in views
    offenders = [
        f"{path.relative_to(MARKETPLACE.parent)} imports {module}"
        for path in sorted(MARKETPLACE.rglob("*.py"))
        if path != MARKETPLACE / "__init__.py"
        for module in blueprint_imports(path.read_text(), feature_of(path), views)
    ]
    assert offenders == []


def test_the_blueprint_checker_catches_a_views_import():
    bad = "from marketplace.studio import bp\nfrom marketplace.admin import payouts\n"
    fine = "from marketplace.studio import series\nfrom marketplace.earnings import bp\n"
    assert blueprint_imports(bad, "earnings", view_modules()) == [
        "marketplace.studio",
        "marketplace.admin",
    ]
    assert blueprint_imports(fine, "earnings", view_modules()) == []
