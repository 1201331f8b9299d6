"""Offline emulator of the Zomro Cloud VPS image API (BILLmanager JSON over HTTP).

Start one in-process with ``EmulatorServer(EmulatorConfig(port=0)).start()`` or from
the shell with ``python -m zomro_pulumi.emulator``. The API answers ``POST /``; the
emulator's own control endpoints live under ``/_emulator/``. This package imports
nothing from the rest of ``zomro_pulumi`` so it can serve as an independent oracle.
"""

from .config import RUNTIME_FIELDS, TRANSIENT_KINDS, EmulatorConfig
from .server import EmulatorApp, EmulatorServer

__all__ = ["RUNTIME_FIELDS", "TRANSIENT_KINDS", "EmulatorApp", "EmulatorConfig", "EmulatorServer"]
