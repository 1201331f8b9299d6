"""Offline emulator of the Zomro Cloud VPS image API (BILLmanager JSON over HTTP).

Start one in-process with ``EmulatorServer(EmulatorConfig(port=0)).start()`` or from
the shell with ``python -m zomro_pulumi.emulator``. The API answers ``POST /``; the
emulator's own control endpoints live under ``/_emulator/``. This package imports
nothing from the rest of ``zomro_pulumi`` so it can serve as an independent oracle.

The server needs werkzeug (the ``emulator`` extra); ``EmulatorServer`` and
``EmulatorApp`` are imported on first use, so the settings can be read without it
and the command line can say what is missing instead of failing on import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import RUNTIME_FIELDS, TRANSIENT_KINDS, EmulatorConfig

if TYPE_CHECKING:
    from .server import EmulatorApp, EmulatorServer

__all__ = ["RUNTIME_FIELDS", "TRANSIENT_KINDS", "EmulatorApp", "EmulatorConfig", "EmulatorServer"]


def __getattr__(name: str) -> Any:
    if name in ("EmulatorApp", "EmulatorServer"):
        from . import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
