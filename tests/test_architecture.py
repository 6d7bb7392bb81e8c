"""The layers of docs/architecture.md hold: no app imports from an app above it, functions and management
commands included. Each app has a layer of its own, so no two apps can import each other."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "architecture.md"
COMPOSITION_ROOTS = {"config.urls", "config.celery", "config.wsgi", "config.asgi"}


def table(heading):
    """The rows of the Markdown table under `## heading`, as lists of cells."""
    section = PAGE.read_text().split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


LAYERS = {app: int(layer) for layer, app, _ in table("Layers")}


def modules():
    """(module name, path) of every Python module of the apps, migrations left out."""
    for app in LAYERS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                parts = path.relative_to(ROOT).with_suffix("").parts
                yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def imported_apps(path):
    """The apps of LAYERS that the module imports from, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
    return found & LAYERS.keys()


def upward_imports():
    upward = set()
    for module, path in modules():
        app = module.split(".")[0]
        if module in COMPOSITION_ROOTS:
            continue
        upward.update((module, other) for other in imported_apps(path) if LAYERS[other] > LAYERS[app])
    return upward


def test_the_page_names_every_app_once_in_layer_order():
    apps = [path.parent.name for path in ROOT.glob("*/apps.py")]
    assert sorted(LAYERS) == sorted([*apps, "config"])
    assert list(LAYERS.values()) == sorted(set(LAYERS.values()))


def test_no_app_imports_from_an_app_above_it():
    assert sorted(upward_imports()) == [], "imports that run upward: remove them, or add a hook (docs/architecture.md)"
