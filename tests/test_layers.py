"""The three layers import one way: agent -> models -> tools (the training scenes and the model's
inputs are drawn with the font and mask tools; no tool needs the model). A package that imports one
above it, even inside a function, is a cycle."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALLOWED = {"agent": {"agent", "models", "tools"}, "models": {"models", "tools"}, "tools": {"tools"}}


def _imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & set(ALLOWED)


def test_no_package_imports_a_layer_above_it():
    wrong = [f"{p.relative_to(ROOT)} imports {sorted(_imported_packages(p) - ALLOWED[package])}"
             for package in ALLOWED for p in sorted((ROOT / package).rglob("*.py"))
             if _imported_packages(p) - ALLOWED[package]]
    assert wrong == []


def test_the_check_sees_a_function_level_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from agent.graph import build_graph\n")
    assert _imported_packages(module) == {"agent"}
