"""One error tree: every error the package raises is a `ZomroError` exported at the top."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import zomro_pulumi
from zomro_pulumi import errors

PACKAGE = Path(zomro_pulumi.__file__).parent


def test_every_error_class_is_a_zomro_error_exported_from_the_package() -> None:
    classes = [
        obj
        for _, obj in inspect.getmembers(errors, inspect.isclass)
        if issubclass(obj, BaseException) and obj.__module__ == errors.__name__
    ]
    assert classes
    for cls in classes:
        assert issubclass(cls, errors.ZomroError), cls
        assert cls.__name__ in zomro_pulumi.__all__, cls
        assert getattr(zomro_pulumi, cls.__name__) is cls


def test_the_provider_rooms_raise_only_the_package_errors() -> None:
    """What the provider, lifecycle, poller and client raise by name is in the tree."""
    allowed = {name for name in zomro_pulumi.__all__ if name.endswith(("Error", "Timeout", "Unreachable"))}
    allowed |= {"WaitTimeout"}  # the poller's own, caught by the lifecycle
    rooms = ("provider.py", "lifecycle.py", "ordering.py", "waits.py", "poller.py", "client.py",
             "wire.py", "settings.py")
    for room in rooms:
        tree = ast.parse((PACKAGE / room).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                func = node.exc.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                if name in ("ValueError", "TypeError"):
                    continue  # misuse: bad arguments, pickling a client
                if name in ("type", "error_type", "failure", "timeout", "_timed_out", "envelope_error"):
                    continue  # a tree member chosen elsewhere: the cause's type, a wait's table
                assert name in allowed, f"{room}:{node.lineno} raises {name}"


def test_configuration_problems_are_config_errors() -> None:
    assert issubclass(errors.ConfigError, errors.ZomroError)
    assert issubclass(errors.ImageCreateTimeout, errors.ImageCreateError)
    assert issubclass(errors.EndpointUnreachable, errors.TransportError)
