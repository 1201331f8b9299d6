"""CONTRIBUTING.md's rooms table is the truth: every module is in one room, and
imports only what its room may import."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import zomro_pulumi

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(zomro_pulumi.__file__).parent
ROW = re.compile(r"^\| (?P<room>[^|]+) \| (?P<files>[^|]+) \| (?P<what>[^|]+) \| (?P<imports>[^|]+) \|$")


def rooms() -> dict[str, tuple[str, set[str]]]:
    """Module file -> (room, modules it may import), from the table."""
    table: dict[str, tuple[str, set[str]]] = {}
    for line in (ROOT / "CONTRIBUTING.md").read_text().splitlines():
        row = ROW.match(line)
        if not row or row["room"].strip() in ("room", "---"):
            continue
        files = re.findall(r"`([\w/]+(?:\.py)?)`", row["files"])
        allowed = set(re.findall(r"`(\w+)`", row["imports"]))
        allowed |= {"Pulumi"} & set(re.split(r",\s*", row["imports"].strip()))
        for name in files:
            table[name] = (row["room"].strip(), allowed)
    return table


def imports_of(path: Path) -> set[str]:
    """The package modules a file imports (`from .x import`, `from . import x`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
    return found


def test_every_module_of_the_package_is_in_a_room() -> None:
    table = rooms()
    modules = {p.name for p in PACKAGE.glob("*.py")} | {"emulator/"}
    assert modules <= set(table), sorted(modules - set(table))
    assert set(table) <= modules, sorted(set(table) - modules)


def test_each_module_imports_only_what_its_room_may() -> None:
    table = rooms()
    for path in sorted(PACKAGE.glob("*.py")):
        room, allowed = table[path.name]
        if room == "the package door":
            continue
        own = path.stem
        extra = imports_of(path) - allowed - {own}
        assert not extra, f"{path.name} ({room}) imports {sorted(extra)}; CONTRIBUTING allows {sorted(allowed)}"


def third_party_imports(path: Path) -> set[str]:
    """Top-level names of the absolute imports of a file, wherever they stand."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_only_the_rooms_that_say_so_import_pulumi() -> None:
    """Pulumi stays in the two mappings, the resource and the SDK reaches: the
    core works, and is tested, without it."""
    table = rooms()
    importing = sorted(p.name for p in PACKAGE.glob("*.py") if "pulumi" in third_party_imports(p))
    allowed = sorted(name for name, (room, may) in table.items() if "Pulumi" in may or room == "the package door")
    assert set(importing) <= set(allowed), (importing, allowed)
    assert "provider.py" in importing and "plugin.py" in importing  # the check sees them


def test_the_emulator_imports_nothing_of_the_rest() -> None:
    for path in (PACKAGE / "emulator").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert node.level <= 1, f"{path.name} imports from the package"
                assert not (node.module or "").startswith("zomro_pulumi"), path.name


def test_no_class_over_250_lines_and_no_function_over_60() -> None:
    """The sizes a newcomer can read at once (the emulator is a world of its own)."""
    too_big = []
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                limit = 250 if isinstance(node, ast.ClassDef) else 60
                if lines > limit:
                    too_big.append(f"{path.name}: {node.name} has {lines} lines (at most {limit})")
    assert too_big == []
