"""Command line: ``python -m zomro_pulumi.emulator`` / ``zomro-emulator``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType
from typing import Optional

from .config import DEMO_PASSWORD, DEMO_USER, TRANSIENT_KINDS, ConfigError, EmulatorConfig
from .server import EmulatorServer
from .state import StateFileError


def _account(text: str) -> tuple[str, str]:
    user, sep, password = text.partition(":")
    if not sep or not user or not password:
        raise argparse.ArgumentTypeError("expected USER:PASSWORD")
    return user, password


def _csv(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def build_parser() -> argparse.ArgumentParser:
    """The CLI's options; each maps to an ``EmulatorConfig`` field."""
    d = EmulatorConfig()
    p = argparse.ArgumentParser(
        prog="zomro-emulator",
        description="Offline emulator of the Zomro Cloud VPS image API "
        "(admin endpoints under /_emulator/).",
    )
    p.add_argument("--host", default=d.host, help="address to bind (default %(default)s)")
    p.add_argument("--port", type=int, default=d.port, help="0 = a free port (default %(default)s)")
    p.add_argument(
        "--account",
        action="append",
        type=_account,
        default=[],
        metavar="USER:PASSWORD",
        help="extra account (repeatable)",
    )
    p.add_argument(
        "--no-demo-account",
        dest="demo_account",
        action="store_false",
        help=f"do not create the {DEMO_USER}/{DEMO_PASSWORD} account",
    )
    p.add_argument(
        "--activation-delay",
        type=float,
        default=d.activation_delay,
        metavar="SECONDS",
        help="Saving -> Active (default %(default)s)",
    )
    p.add_argument(
        "--delete-delay",
        type=float,
        default=d.delete_delay,
        metavar="SECONDS",
        help="Deleting -> gone (default %(default)s)",
    )
    p.add_argument(
        "--session-idle",
        type=float,
        default=d.session_idle,
        metavar="SECONDS",
        help="token idle expiry (default %(default)s)",
    )
    p.add_argument(
        "--order-returns-id",
        action=argparse.BooleanOptionalAction,
        default=d.order_returns_id,
        help="order answer carries doc.id",
    )
    p.add_argument(
        "--single-elem-object",
        action=argparse.BooleanOptionalAction,
        default=d.single_elem_object,
        help="a one-item list page is an object, not a list",
    )
    p.add_argument(
        "--default-page-size",
        type=int,
        default=d.default_page_size,
        metavar="N",
        help="items per page without p_cnt (0 = all)",
    )
    p.add_argument(
        "--max-page-size",
        type=int,
        default=d.max_page_size,
        metavar="N",
        help="cap on p_cnt (0 = none)",
    )
    p.add_argument("--kill-name", metavar="REGEX", help="such image names end in --kill-status")
    p.add_argument(
        "--kill-status",
        default=d.kill_status,
        help="failure status of killed images (default %(default)s)",
    )
    p.add_argument("--stuck-name", metavar="REGEX", help="such image names stay Saving")
    p.add_argument(
        "--transient-rate",
        type=float,
        default=d.transient_rate,
        metavar="FLOAT",
        help="probability 0..1 of a transient fault per API request",
    )
    p.add_argument(
        "--transient-kinds",
        type=_csv,
        default=d.transient_kinds,
        help=f"comma list of {','.join(TRANSIENT_KINDS)}",
    )
    p.add_argument(
        "--latency-ms",
        type=int,
        default=d.latency_ms,
        metavar="N",
        help="added to every API request",
    )
    p.add_argument("--seed", type=int, default=None, help="random seed for faults")
    p.add_argument("--state-file", metavar="PATH", help="persist images in this JSON file")
    p.add_argument(
        "--regions",
        type=_csv,
        default=d.regions,
        help="comma list of accepted regions (default: any)",
    )
    p.add_argument(
        "--pricelists",
        type=_csv,
        default=d.pricelists,
        help="comma list of valid pricelist ids (default 6854)",
    )
    p.add_argument(
        "--log-requests",
        action="store_true",
        help="print one line per API request (credentials never shown)",
    )
    return p


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    """Turn parsed options into an ``EmulatorConfig``."""
    return EmulatorConfig(
        host=args.host,
        port=args.port,
        accounts=dict(args.account),
        demo_account=args.demo_account,
        activation_delay=args.activation_delay,
        delete_delay=args.delete_delay,
        session_idle=args.session_idle,
        order_returns_id=args.order_returns_id,
        single_elem_object=args.single_elem_object,
        default_page_size=args.default_page_size,
        max_page_size=args.max_page_size,
        kill_name=args.kill_name,
        kill_status=args.kill_status,
        stuck_name=args.stuck_name,
        transient_rate=args.transient_rate,
        transient_kinds=args.transient_kinds,
        latency_ms=args.latency_ms,
        seed=args.seed,
        state_file=args.state_file,
        regions=args.regions,
        pricelists=args.pricelists,
        log_requests=args.log_requests,
    )


def main(argv: Optional[list[str]] = None) -> int:
    """Run the emulator until SIGINT/SIGTERM."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        server = EmulatorServer(config_from_args(args)).start()
    except (ConfigError, StateFileError, OSError) as exc:
        print(f"zomro-emulator: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: Optional[FrameType]) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(f"Zomro API emulator listening on {server.url}", flush=True)
        if args.demo_account:
            who = f"Demo credentials: {DEMO_USER} / {DEMO_PASSWORD}"
        else:
            who = "Accounts: " + ", ".join(sorted(dict(args.account)))
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
