"""Command line: ``python -m zomro_pulumi.emulator`` / ``zomro-emulator``.

The server needs werkzeug, which only the ``emulator`` extra installs; without it
the command says how to install it (exit status 2) instead of a traceback.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType
from typing import Optional

from .config import DEMO_PASSWORD, DEMO_USER, SETTINGS, EmulatorConfig, SettingError, flag_of
from .state import StateFileError

#: What the command prints (to stderr) when werkzeug is not installed.
NEEDS_EXTRA = 'zomro-emulator needs the emulator extra: pip install "zomro-pulumi[emulator]"'


def build_parser() -> argparse.ArgumentParser:
    """One option per ``EmulatorConfig`` field, made from the field's ``Setting``."""
    defaults = EmulatorConfig()
    parser = argparse.ArgumentParser(
        prog="zomro-emulator",
        description="Offline emulator of the Zomro Cloud VPS image API "
        "(admin endpoints under /_emulator/; settings marked * can change at run time "
        "through POST /_emulator/faults).",
    )
    for name, spec in SETTINGS.items():
        default = getattr(defaults, name)
        action = spec.kind.add_flag(parser, flag_of(name), name, default)
        shown = "" if default == {} else f" (default: {spec.kind.show(default)})"
        # Set after creation: some Pythons' BooleanOptionalAction append a default too.
        action.help = ("* " if spec.runtime else "") + (spec.help + shown).replace("%", "%%")
    return parser


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    """Turn parsed options into an ``EmulatorConfig`` (checked when the server starts)."""
    return EmulatorConfig(
        **{name: spec.kind.from_args(getattr(args, name)) for name, spec in SETTINGS.items()}
    )


def _without_werkzeug(exc: ModuleNotFoundError) -> bool:
    return (exc.name or "").split(".")[0] == "werkzeug"


def main(argv: Optional[list[str]] = None) -> int:
    """Run the emulator until SIGINT/SIGTERM."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        from .server import EmulatorServer
    except ModuleNotFoundError as exc:
        if not _without_werkzeug(exc):
            raise
        print(NEEDS_EXTRA, file=sys.stderr)
        return 2
    config = config_from_args(args)
    try:
        server = EmulatorServer(config).start()
    except (SettingError, StateFileError, OSError) as exc:
        print(f"zomro-emulator: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: Optional[FrameType]) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(f"Zomro API emulator listening on {server.url}", flush=True)
        if config.demo_account:
            who = f"Demo credentials: {DEMO_USER} / {DEMO_PASSWORD}"
        else:
            who = "Accounts: " + ", ".join(sorted(config.accounts))
        print(f"{who}    admin: {server.admin_url}", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("Zomro API emulator stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
