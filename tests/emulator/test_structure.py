"""The emulator's layering: the request handlers (``api.py``, ``admin.py``) only parse
and render; every change of the model is an ``EmulatorState`` method, so the rules
of the model live in one place and hold under its lock."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "zomro_pulumi" / "emulator"

#: Methods that change a list, dict, set or deque in place.
MUTATORS = {
    "add",
    "append",
    "appendleft",
    "clear",
    "discard",
    "extend",
    "insert",
    "pop",
    "popitem",
    "remove",
    "setdefault",
    "update",
}
#: Names the handlers give the model's objects (the state, a stored image).
MODEL_NAMES = {"state", "image", "img"}


def chain(node: ast.expr) -> list[str]:
    """The names an attribute/subscript expression is built from, outermost last."""
    names: list[str] = []
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        if isinstance(node, ast.Attribute):
            names.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        names.append(node.id)
    return names


def touches_model(target: ast.expr) -> bool:
    """Whether a target changes the state or a stored image (``self.state.x = …``,
    ``image.min_ram = …``, ``self.state.images[1] = …``)."""
    if not isinstance(target, (ast.Attribute, ast.Subscript)):
        return False
    return bool(MODEL_NAMES & set(chain(target)[1:]))


@pytest.mark.parametrize("module", ["api.py", "admin.py"])
def test_handlers_change_nothing_themselves(module: str) -> None:
    tree = ast.parse((PACKAGE / module).read_text(), module)
    for node in ast.walk(tree):
        where = f"{module}:{getattr(node, 'lineno', '?')}"
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        for target in targets:
            assert not touches_model(target), f"{where} changes the model"
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in MUTATORS
        ):
            receiver = chain(node.func.value)
            assert not MODEL_NAMES & set(receiver), f"{where} changes the model"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in ("setattr", "delattr"), where


def test_the_check_sees_a_change() -> None:
    """The check above would notice the changes it is meant to forbid."""
    for source in (
        "self.state.images[1] = x",
        "image.min_ram = 4",
        "self.state.orders.append(x)",
        "del self.state.sessions[t]",
    ):
        node = ast.parse(source).body[0]
        if isinstance(node, ast.Expr):
            call = node.value
            assert isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
            assert MODEL_NAMES & set(chain(call.func.value))
        else:
            assert isinstance(node, (ast.Assign, ast.Delete))
            assert touches_model(node.targets[0])
