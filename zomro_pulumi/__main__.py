"""`zomro-pulumi` / `python -m zomro_pulumi`: tools beside the provider.

`doctor` checks, read-only, the provider's assumptions about the API against
a real account.  It reads the same settings as the provider (environment);
flags override the endpoint, username and token.  A password comes only from
`ZOMRO_PASSWORD` or a prompt, never a flag, so it stays out of shell history
and process lists.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import sys
from typing import Optional

from . import doctor
from .client import check_endpoint
from .errors import ConfigError, redact
from .settings import ProviderSettings

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zomro-pulumi", description="Tools for the Zomro Pulumi provider."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    doc = commands.add_parser(
        "doctor",
        help="check, read-only, what the provider assumes about the API against your account",
        description=(
            "Logs in (with a username), reads the image list and one image, and asks for a "
            "missing id; never orders, edits or deletes. Settings as the provider reads them: "
            "ZOMRO_ENDPOINT, ZOMRO_AUTH_TOKEN, ZOMRO_USERNAME, ZOMRO_PASSWORD. The password "
            "comes only from ZOMRO_PASSWORD or a prompt. Exit status: 0 when everything the "
            "provider needs holds, 1 otherwise, 2 for usage errors or missing credentials."
        ),
    )
    doc.add_argument("--endpoint", help="API URL (default: ZOMRO_ENDPOINT or the Zomro API)")
    doc.add_argument("--username", help="log in as this user (password: ZOMRO_PASSWORD or prompt)")
    doc.add_argument(
        "--token",
        help="session token (prefer ZOMRO_AUTH_TOKEN: a flag shows in the process list)",
    )
    doc.add_argument("--json", action="store_true", help="print the checks as JSON")
    doc.add_argument(
        "--timeout", type=float, default=30.0, help="seconds to wait for each answer (default 30)"
    )
    return parser


def _settings(args: argparse.Namespace) -> ProviderSettings:
    """The provider's settings, flags over the environment, a password prompted for."""
    settings = ProviderSettings.load()
    overrides = {
        key: getattr(args, key)
        for key in ("endpoint", "username", "token")
        if getattr(args, key) not in (None, "")
    }
    settings = dataclasses.replace(settings, **overrides)
    if not settings.token and settings.username and not settings.password:
        if not sys.stdin.isatty():
            raise ConfigError(
                "no password: set ZOMRO_PASSWORD (passwords are never taken as a flag), "
                "or run in a terminal to be asked"
            )
        password = getpass.getpass(f"Zomro password for {settings.username}: ")
        settings = dataclasses.replace(settings, password=password or None)
    if not settings.has_credentials:
        raise ConfigError(
            "no Zomro credentials: set ZOMRO_AUTH_TOKEN (or --token), or ZOMRO_USERNAME "
            "(or --username) and ZOMRO_PASSWORD"
        )
    check_endpoint(settings.endpoint)
    return settings


def _doctor(args: argparse.Namespace) -> int:
    try:
        settings = _settings(args)
    except ConfigError as exc:
        print(f"zomro-pulumi doctor: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    if args.timeout <= 0:
        print("zomro-pulumi doctor: --timeout must be positive", file=sys.stderr)
        return EXIT_USAGE
    secrets = [s for s in (settings.token, settings.password) if s]
    try:
        report = doctor.run(settings, timeout=args.timeout)
    except Exception as exc:  # a bug here must not print a credential in a traceback
        text = redact(f"{type(exc).__name__}: {exc}", secrets)
        print(f"zomro-pulumi doctor: internal error: {text}", file=sys.stderr)
        return EXIT_FAILED
    doctor.print_report(report, as_json=args.json)
    return report.exit_status


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point of the `zomro-pulumi` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "doctor":
        try:
            return _doctor(args)
        except KeyboardInterrupt:
            print("zomro-pulumi doctor: interrupted", file=sys.stderr)
            return 130
    parser.print_help(sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
