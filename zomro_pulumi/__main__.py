"""`zomro-pulumi` / `python -m zomro_pulumi`: tools beside the provider.

`doctor` checks, read-only, the provider's assumptions about the API against a
real account; `import` prints a Pulumi program that takes over existing images.
Both read the settings as the provider does: inside a Pulumi project (a
`Pulumi.yaml` here or above) the selected stack's config first (read with the
Pulumi CLI), then the environment.  Flags override the endpoint, username and
token.  A password never comes from a flag, so it stays out of shell history
and process lists: stack config, environment, or a prompt.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Callable, Optional

from . import codegen, doctor
from .client import check_endpoint
from .errors import ConfigError, ZomroError, redact
from .settings import ProviderSettings, Source, find_project, stack_config

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
SETTINGS_HELP = (
    "Settings as the provider reads them: in a Pulumi project the stack's config "
    "(zomro:endpoint, zomro:authToken, zomro:username, zomro:password, zomro:accounts), "
    "else or then the environment (ZOMRO_ENDPOINT, ZOMRO_AUTH_TOKEN, ZOMRO_USERNAME, "
    "ZOMRO_PASSWORD). A password never comes from a flag: stack config, environment or a prompt."
)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint", help="API URL (default: from the settings, else the Zomro API)")
    parser.add_argument("--username", help="log in as this user (password: settings or a prompt)")
    parser.add_argument(
        "--token", help="session token (prefer the settings: a flag shows in the process list)"
    )
    parser.add_argument("--account", help="an account of zomro:accounts (or ZOMRO_<NAME>_*)")
    parser.add_argument("--stack", help="read this stack's config instead of the selected one")


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
            "missing id; never orders, edits or deletes. " + SETTINGS_HELP + " Exit status: 0 "
            "when everything the provider needs holds, 1 otherwise, 2 for usage errors or "
            "missing credentials."
        ),
    )
    _common(doc)
    doc.add_argument("--json", action="store_true", help="print the checks as JSON")
    doc.add_argument(
        "--timeout", type=float, default=30.0, help="seconds to wait for each answer (default 30)"
    )
    imp = commands.add_parser(
        "import",
        help="print a Pulumi program that takes over the account's existing images",
        description=(
            "Prints a Pulumi Python program declaring every matching Active image with its "
            "current values, each taken over by id, so that `pulumi up` orders and changes "
            "nothing. Only reads. " + SETTINGS_HELP
        ),
    )
    _common(imp)
    imp.add_argument("--region", help="only images in this region (letter case ignored)")
    imp.add_argument("--name", help="only images of this name (shell-style wildcards allowed)")
    return parser


def _settings(args: argparse.Namespace) -> ProviderSettings:
    """The provider's settings, flags over stack config over environment, a password
    prompted for when there is a username but no password."""
    project = find_project()
    if args.stack and project is None:
        raise ConfigError("--stack needs a Pulumi project: no Pulumi.yaml here or above")
    config = None
    if project is not None:
        try:
            config = stack_config(project, args.stack)
        except ConfigError as exc:
            if args.stack:  # asked for by name: its settings are what the user wants checked
                raise
            # A project without a selected stack, a backend login or a `pulumi` on
            # PATH: the flags and the environment may still say all there is.
            print(
                f"zomro-pulumi: the stack config cannot be read ({exc.message}); going on with "
                "the flags and the environment",
                file=sys.stderr,
            )
    settings = ProviderSettings.load(config, account=args.account)
    for attr in ("endpoint", "username", "token"):
        settings = settings.override(Source("flag", f"--{attr}"), **{attr: getattr(args, attr)})
    check_endpoint(settings.endpoint)
    if not settings.token and settings.username and not settings.password:
        if not sys.stdin.isatty():
            raise ConfigError(
                f"no password: set {settings.env_key('password')} (passwords are never taken as "
                f"a flag) or {settings.config_key('password')}, or run in a terminal to be asked"
            )
        password = getpass.getpass(f"Zomro password for {settings.username}: ")
        settings = settings.override(Source("prompt"), password=password)
    problem = settings.problem()
    if problem is not None:
        hint = "" if settings.has_credentials else "; or give --token, or --username"
        raise ConfigError(problem[1] + hint)
    return settings


def _doctor(args: argparse.Namespace, settings: ProviderSettings) -> int:
    report = doctor.run(settings, timeout=args.timeout)
    doctor.print_report(report, as_json=args.json)
    return report.exit_status


def _import(args: argparse.Namespace, settings: ProviderSettings) -> int:
    client = settings.client()
    try:
        chosen, skipped = codegen.matching(client, region=args.region, name=args.name)
        records = codegen.viewed(client, chosen)
    except ZomroError as exc:
        print(f"zomro-pulumi import: {exc.message}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        client.close()
    filters = [f"{k} {v!r}" for k, v in (("region", args.region), ("name", args.name)) if v]
    where = settings.endpoint + (f" ({', '.join(filters)})" if filters else "")
    sys.stdout.write(codegen.program(records, account=settings.account, where=where))
    for record in skipped:
        print(
            f"zomro-pulumi import: left out image {record.id} "
            f"({codegen.printable(record.image_name or '')}): "
            f"{record.status or 'no status'}, not Active; run again once it is",
            file=sys.stderr,
        )
    left_out = [(record, why) for record in records if (why := codegen.refused(record))]
    for record, why in left_out:
        print(
            f"zomro-pulumi import: left out image {record.id} "
            f"({codegen.printable(record.image_name or '')}): "
            f"{'; '.join(why)} (a comment in the program says so)",
            file=sys.stderr,
        )
    print(
        f"zomro-pulumi import: {len(records) - len(left_out)} image(s) of {where}",
        file=sys.stderr,
    )
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace, ProviderSettings], int]] = {
    "doctor": _doctor,
    "import": _import,
}


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point of the `zomro-pulumi` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    command = COMMANDS.get(args.command or "")
    if command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    name = f"zomro-pulumi {args.command}"
    if getattr(args, "timeout", 1) <= 0:
        print(f"{name}: --timeout must be positive", file=sys.stderr)
        return EXIT_USAGE
    try:
        settings = _settings(args)
    except ConfigError as exc:
        print(f"{name}: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return 130
    try:
        return command(args, settings)
    except ConfigError as exc:  # e.g. a wire trace that cannot be written
        print(f"{name}: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug here must not print a credential in a traceback
        secrets = [s for s in (settings.token, settings.password) if s]
        print(f"{name}: internal error: {redact(f'{type(exc).__name__}: {exc}', secrets)}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
