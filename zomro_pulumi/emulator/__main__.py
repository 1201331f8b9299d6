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

from .config import (
    DEMO_PASSWORD,
    DEMO_USER,
    MISSING_ID_ERRORS,
    ORDER_REPLIES,
    TRANSIENT_KINDS,
    EmulatorConfig,
    SettingError,
)
from .state import StateFileError

#: What the command prints (to stderr) when werkzeug is not installed.
NEEDS_EXTRA = 'zomro-emulator needs the emulator extra: pip install "zomro-pulumi[emulator]"'


def _account(text: str) -> tuple[str, str]:
    user, sep, password = text.partition(":")
    if not sep or not user or not password:
        raise argparse.ArgumentTypeError("expected USER:PASSWORD")
    return user, password


def _csv(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def build_parser() -> argparse.ArgumentParser:
    """The CLI's options; each maps to an ``EmulatorConfig`` field."""
    defaults = EmulatorConfig()
    parser = argparse.ArgumentParser(
        prog="zomro-emulator",
        description="Offline emulator of the Zomro Cloud VPS image API "
        "(admin endpoints under /_emulator/).",
    )
    parser.add_argument(
        "--host", default=defaults.host, help="address to bind (default %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=defaults.port, help="0 = a free port (default %(default)s)"
    )
    parser.add_argument(
        "--account",
        action="append",
        type=_account,
        default=[],
        metavar="USER:PASSWORD",
        help="extra account (repeatable)",
    )
    parser.add_argument(
        "--no-demo-account",
        dest="demo_account",
        action="store_false",
        help=f"do not create the {DEMO_USER}/{DEMO_PASSWORD} account",
    )
    parser.add_argument(
        "--activation-delay",
        type=float,
        default=defaults.activation_delay,
        metavar="SECONDS",
        help="Saving -> Active (default %(default)s)",
    )
    parser.add_argument(
        "--delete-delay",
        type=float,
        default=defaults.delete_delay,
        metavar="SECONDS",
        help="Deleting -> gone (default %(default)s)",
    )
    parser.add_argument(
        "--session-idle",
        type=float,
        default=defaults.session_idle,
        metavar="SECONDS",
        help="token idle expiry (default %(default)s)",
    )
    parser.add_argument(
        "--order-reply",
        choices=ORDER_REPLIES,
        default=defaults.order_reply,
        help="where the order answer carries the new id: doc.id, doc.elid, "
        'doc["item.id"] (wrapped), bare doc.id, or none (default %(default)s)',
    )
    parser.add_argument(
        "--order-returns-id",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="older form of --order-reply: yes = id, no = none",
    )
    parser.add_argument(
        "--missing-id-error",
        choices=MISSING_ID_ERRORS,
        default=defaults.missing_id_error,
        help="answer to a call on a missing id: doc.error $type missed, value or access "
        "(HTTP 200), an HTTP 404 page, or an HTML page with HTTP 200 (default %(default)s)",
    )
    parser.add_argument(
        "--saving-status",
        default=defaults.saving_status,
        metavar="WORD",
        help="fleio_status while the file uploads (default %(default)s)",
    )
    parser.add_argument(
        "--active-status",
        default=defaults.active_status,
        metavar="WORD",
        help="fleio_status of a ready image (default %(default)s)",
    )
    parser.add_argument(
        "--deleting-status",
        default=defaults.deleting_status,
        metavar="WORD",
        help="fleio_status while an image is deleted (default %(default)s)",
    )
    parser.add_argument(
        "--queued-for",
        type=float,
        default=defaults.queued_for,
        metavar="SECONDS",
        help="an ordered image shows 'queued' this long before the saving word "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--single-elem-object",
        action=argparse.BooleanOptionalAction,
        default=defaults.single_elem_object,
        help="a one-item list page is an object, not a list",
    )
    parser.add_argument(
        "--default-page-size",
        type=int,
        default=defaults.default_page_size,
        metavar="N",
        help="items per page without p_cnt (0 = all)",
    )
    parser.add_argument(
        "--max-page-size",
        type=int,
        default=defaults.max_page_size,
        metavar="N",
        help="cap on p_cnt (0 = none)",
    )
    parser.add_argument(
        "--kill-name", metavar="REGEX", help="such image names end in --kill-status"
    )
    parser.add_argument(
        "--kill-status",
        default=defaults.kill_status,
        help="failure status of killed images (default %(default)s)",
    )
    parser.add_argument("--stuck-name", metavar="REGEX", help="such image names stay Saving")
    parser.add_argument(
        "--transient-rate",
        type=float,
        default=defaults.transient_rate,
        metavar="FLOAT",
        help="probability 0..1 of a transient fault per API request",
    )
    parser.add_argument(
        "--transient-kinds",
        type=_csv,
        default=defaults.transient_kinds,
        help=f"comma list of {','.join(TRANSIENT_KINDS)}",
    )
    parser.add_argument(
        "--latency-ms",
        type=int,
        default=defaults.latency_ms,
        metavar="N",
        help="added to every API request",
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed for faults")
    parser.add_argument("--state-file", metavar="PATH", help="persist images in this JSON file")
    parser.add_argument(
        "--regions",
        type=_csv,
        default=defaults.regions,
        help="comma list of accepted regions (default: any)",
    )
    parser.add_argument(
        "--pricelists",
        type=_csv,
        default=defaults.pricelists,
        help="comma list of valid pricelist ids (default 6854)",
    )
    parser.add_argument(
        "--log-requests",
        action="store_true",
        help="print one line per API request (credentials never shown)",
    )
    return parser


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
        order_reply=args.order_reply,
        order_returns_id=args.order_returns_id,
        missing_id_error=args.missing_id_error,
        saving_status=args.saving_status,
        active_status=args.active_status,
        deleting_status=args.deleting_status,
        queued_for=args.queued_for,
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
    try:
        server = EmulatorServer(config_from_args(args)).start()
    except (SettingError, StateFileError, OSError) as exc:
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
