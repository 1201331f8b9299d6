"""Where and as whom to call the API: stack config first, then the environment.

Shared by the provider, the lookups in `resource.py`, `zomro-pulumi doctor` and
`zomro-pulumi import`, so all of them read the same settings the same way.
Nothing here is pickled or printed: the credentials stay out of `repr` and out
of the Pulumi state.  Each setting remembers where it came from (`Source`), so
a message can name the setting to fix instead of a value.

Several accounts: `load(config, account="prod")` reads the endpoint and the
credentials from the structured stack config `zomro:accounts` (set with
`pulumi config set --path zomro:accounts.prod.endpoint ...`), else from
`ZOMRO_PROD_ENDPOINT`, `ZOMRO_PROD_USERNAME`, `ZOMRO_PROD_PASSWORD` and
`ZOMRO_PROD_AUTH_TOKEN`.  Both the provider's config getter and
`pulumi.Config("zomro").get("accounts")` give that object as JSON text, with
its secret leaves decrypted; a dict is taken as well.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Callable, Optional

from . import _concurrency
from .client import DEFAULT_ENDPOINT, Tuning, ZomroClient, check_endpoint
from .clock import SYSTEM_CLOCK, Clock
from .errors import NO_CREDENTIALS, ConfigError
from .trace import WireTrace

ConfigGetter = Callable[[str], Any]

# attribute -> (stack config key, environment variable)
CONFIG_KEYS: dict[str, tuple[str, str]] = {
    "endpoint": ("zomro:endpoint", "ZOMRO_ENDPOINT"),
    "token": ("zomro:authToken", "ZOMRO_AUTH_TOKEN"),
    "username": ("zomro:username", "ZOMRO_USERNAME"),
    "password": ("zomro:password", "ZOMRO_PASSWORD"),
    "max_concurrency": ("zomro:maxConcurrency", "ZOMRO_MAX_CONCURRENCY"),
    "trace": ("zomro:trace", "ZOMRO_TRACE"),
}
# attribute -> what it is, for the package schema and the tools
CONFIG_DOCS: dict[str, str] = {
    "endpoint": f"URL of the Zomro (BILLmanager) API; default `{DEFAULT_ENDPOINT}`.",
    "token": "Session token of the Zomro account (a secret): or `username` and `password`.",
    "username": "User name of the Zomro account, with `password`; the provider logs in again when a session expires.",
    "password": "Password of `username` (a secret).",
    "max_concurrency": f"API calls in flight at once; default {_concurrency.DEFAULT_WORKERS}.",
    "trace": "Path of a JSON-lines wire trace to append every API call to (credentials redacted).",
}
ACCOUNTS_KEY = "zomro:accounts"
ACCOUNTS_DOC = (
    "Several Zomro accounts by name (`account` of an image): each an object of `endpoint`, "
    "`username`, `password` and `authToken` (set with `pulumi config set --path "
    "zomro:accounts.NAME.endpoint ...`)."
)
# attribute -> (key inside zomro:accounts.NAME, suffix of ZOMRO_<NAME>_...); the
# other settings stay global.
ACCOUNT_KEYS: dict[str, tuple[str, str]] = {
    "endpoint": ("endpoint", "ENDPOINT"),
    "token": ("authToken", "AUTH_TOKEN"),
    "username": ("username", "USERNAME"),
    "password": ("password", "PASSWORD"),
}
SECRET_ATTRS = ("token", "password")
_ACCOUNT_ENV = re.compile(
    "ZOMRO_(.+)_(" + "|".join(suffix for _, suffix in ACCOUNT_KEYS.values()) + ")"
)


@dataclasses.dataclass(frozen=True)
class Source:
    """Where one setting came from: `stack config zomro:endpoint`,
    `environment ZOMRO_PASSWORD`, `flag --token`, `prompt`, `default`."""

    kind: str
    name: str = ""

    def __str__(self) -> str:
        return f"{self.kind} {self.name}" if self.name else self.kind


DEFAULT = Source("default")


@dataclasses.dataclass(frozen=True)
class Place:
    """Where a provider's config is written, for messages: the stack config (a
    program's default provider), or the arguments of an explicit provider
    resource named `provider`, whose keys the user spells without `zomro:`."""

    provider: Optional[str] = None

    def source(self, key: str) -> Source:
        if self.provider is None:
            return Source("stack config", key)
        return Source("argument", key.split(":", 1)[-1])

    @property
    def default_account(self) -> str:
        """How a message names the account of the unlabelled settings."""
        if self.provider is None:
            return "the default Zomro account"
        return f"provider {self.provider!r}"


STACK_CONFIG = Place()


def env_name(account: str) -> str:
    """The account's part of its environment variables: `my-test` -> `MY_TEST`."""
    return re.sub(r"[^A-Za-z0-9]", "_", account).upper()


def _accounts(config: Optional[ConfigGetter]) -> dict[str, dict[str, Any]]:
    """`zomro:accounts` as a dict of account name -> settings; values are never
    quoted in an error, since some are credentials."""
    raw = config(ACCOUNTS_KEY) if config else None
    if raw in (None, ""):
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = None
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{ACCOUNTS_KEY} must be an object of accounts: set it with "
            f"`pulumi config set --path {ACCOUNTS_KEY}.NAME.endpoint URL`"
        )
    allowed = [key for key, _ in ACCOUNT_KEYS.values()]
    for name, entry in raw.items():
        if not isinstance(entry, dict):
            raise ConfigError(f"{ACCOUNTS_KEY}.{name} must be an object with {', '.join(allowed)}")
        unknown = sorted(set(entry) - set(allowed))
        if unknown:
            raise ConfigError(
                f"{ACCOUNTS_KEY}.{name} has unknown key(s) {', '.join(unknown)}; "
                f"allowed: {', '.join(allowed)}"
            )
    return raw


def known_accounts(config: Optional[ConfigGetter] = None) -> list[str]:
    """Account names in `zomro:accounts`, then those only the environment names
    (`ZOMRO_<NAME>_PASSWORD` ... gives `name`)."""
    names = list(_accounts(config))
    seen = {env_name(n) for n in names}
    for var in sorted(os.environ):
        match = _ACCOUNT_ENV.fullmatch(var)
        if match and os.environ[var] and match.group(1) not in seen:
            seen.add(match.group(1))
            names.append(match.group(1).lower())
    return names


def _first(candidates: list[tuple[Any, Source]]) -> Optional[tuple[str, Source]]:
    for value, source in candidates:
        if value not in (None, ""):
            return str(value), source
    return None


@dataclasses.dataclass(frozen=True)
class ProviderSettings:
    """Where and as whom to call the API; never pickled, never printed."""

    endpoint: str = DEFAULT_ENDPOINT
    token: Optional[str] = dataclasses.field(default=None, repr=False)
    username: Optional[str] = None
    password: Optional[str] = dataclasses.field(default=None, repr=False)
    max_concurrency: int = _concurrency.DEFAULT_WORKERS
    trace: Optional[str] = None
    """Path of a JSON-lines wire trace to append to (`zomro:trace`, `ZOMRO_TRACE`)."""
    account: Optional[str] = None
    """The `zomro:accounts` entry the credentials are from; None: the default keys."""
    sources: Mapping[str, Source] = dataclasses.field(default_factory=dict, compare=False)
    """Attribute -> where its value came from; attributes not in it are defaults."""

    @classmethod
    def load(
        cls, config: Optional[ConfigGetter] = None, *, account: Optional[str] = None, place: Place = STACK_CONFIG
    ) -> ProviderSettings:
        """Stack config (or a provider resource's arguments) first, then the
        environment, then defaults."""
        found: dict[str, tuple[str, Source]] = {}
        entry = cls._account_entry(config, account) if account is not None else {}
        for attr, (config_key, env_key) in CONFIG_KEYS.items():
            if account is not None and attr in ACCOUNT_KEYS:
                config_key = f"{ACCOUNTS_KEY}.{account}.{ACCOUNT_KEYS[attr][0]}"
                env_key = f"ZOMRO_{env_name(account)}_{ACCOUNT_KEYS[attr][1]}"
                from_config = entry.get(ACCOUNT_KEYS[attr][0])
            else:
                from_config = config(config_key) if config else None
            value = _first(
                [
                    (from_config, place.source(config_key)),
                    (os.environ.get(env_key), Source("environment", env_key)),
                ]
            )
            if value is not None:
                found[attr] = value
        values: dict[str, Any] = {attr: value for attr, (value, _) in found.items()}
        if "max_concurrency" in values:
            try:
                values["max_concurrency"] = int(values["max_concurrency"])
            except ValueError:
                raise ConfigError(
                    "zomro:maxConcurrency (ZOMRO_MAX_CONCURRENCY) must be a whole number"
                ) from None
        sources = {attr: source for attr, (_, source) in found.items()}
        return cls(**values, account=account, sources=sources)

    @staticmethod
    def _account_entry(config: Optional[ConfigGetter], account: str) -> dict[str, Any]:
        accounts = _accounts(config)
        if account in accounts:
            return accounts[account]
        prefix = f"ZOMRO_{env_name(account)}_"
        if any(_ACCOUNT_ENV.fullmatch(v) and v.startswith(prefix) for v in os.environ):
            return {}
        known = known_accounts(config)
        raise ConfigError(
            f"unknown Zomro account {account!r}: no {ACCOUNTS_KEY}.{account} in the stack "
            f"config and no {prefix}* variable; "
            + (f"known accounts: {', '.join(known)}" if known else "no accounts are configured")
        )

    def source(self, attr: str) -> Source:
        return self.sources.get(attr, DEFAULT)

    def config_key(self, attr: str) -> str:
        """The stack config key of `attr` for this account, e.g. `zomro:accounts.prod.password`."""
        if self.account is not None and attr in ACCOUNT_KEYS:
            return f"{ACCOUNTS_KEY}.{self.account}.{ACCOUNT_KEYS[attr][0]}"
        return CONFIG_KEYS[attr][0]

    def env_key(self, attr: str) -> str:
        """The environment variable of `attr` for this account, e.g. `ZOMRO_PROD_PASSWORD`."""
        if self.account is not None and attr in ACCOUNT_KEYS:
            return f"ZOMRO_{env_name(self.account)}_{ACCOUNT_KEYS[attr][1]}"
        return CONFIG_KEYS[attr][1]

    def origin(self, attr: str) -> str:
        """Where `attr` was set, for a message (the key to set when it was not)."""
        return str(self.sources[attr]) if attr in self.sources else self.config_key(attr)

    def override(self, source: Source, **values: Any) -> ProviderSettings:
        """These settings with some values replaced (a flag, a prompt), remembering from where."""
        given = {k: v for k, v in values.items() if v not in (None, "")}
        sources = {**self.sources, **dict.fromkeys(given, source)}
        return dataclasses.replace(self, **given, sources=sources)

    @property
    def has_credentials(self) -> bool:
        return bool(self.token or (self.username and self.password))

    def problem(self) -> Optional[tuple[str, str]]:
        """(config key, what is wrong) when no API call could succeed with these
        settings; checked at preview, before anything is sent."""
        try:
            check_endpoint(self.endpoint)
        except ConfigError as exc:
            return self.config_key("endpoint"), exc.message
        if self.has_credentials:
            return None
        if self.account is None:
            return self.config_key("token"), NO_CREDENTIALS
        env = f"ZOMRO_{env_name(self.account)}_"
        return self.config_key("token"), (
            f"no Zomro credentials for account {self.account!r}: set "
            f"`pulumi config set --secret --path {self.config_key('token')} TOKEN`, or "
            f"{self.config_key('username')} and (secret) {self.config_key('password')} "
            f"(environment: {env}AUTH_TOKEN, or {env}USERNAME and {env}PASSWORD)"
        )

    def client(self, clock: Clock = SYSTEM_CLOCK) -> ZomroClient:
        """A client for these settings (with the wire trace, when one is set)."""
        return ZomroClient(
            self.endpoint,
            token=self.token,
            username=self.username,
            password=self.password,
            tuning=Tuning(pool_size=max(16, self.max_concurrency * 2)),
            trace=WireTrace.from_setting(self.trace),
            clock=clock,
        )


# --- the stack config of a Pulumi project, for the command line tools ----------------


def find_project(start: Optional[Path] = None) -> Optional[Path]:
    """The directory of the `Pulumi.yaml` in `start` (default: here) or above it."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "Pulumi.yaml").is_file() or (folder / "Pulumi.yml").is_file():
            return folder
    return None


def stack_config(project: Path, stack: Optional[str] = None) -> ConfigGetter:
    """The stack's config as the provider sees it, read with the Pulumi CLI
    (`pulumi config --json --show-secrets`; a passphrase as the CLI needs it)."""
    cmd = ["pulumi", "config", "--json", "--show-secrets", "--non-interactive"]
    cmd += ["--stack", stack] if stack else []
    shown = " ".join(cmd[:4] + (["--stack", stack] if stack else []))
    try:
        done = subprocess.run(
            cmd, cwd=project, capture_output=True, text=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"cannot run `{shown}` in {project}: {type(exc).__name__}") from None
    if done.returncode != 0:
        said = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise ConfigError(f"`{shown}` failed in {project}: {said}")
    try:
        entries = json.loads(done.stdout)
    except ValueError:
        raise ConfigError(f"`{shown}` did not print JSON") from None
    values = {
        key: entry.get("value")
        for key, entry in (entries.items() if isinstance(entries, dict) else [])
        if isinstance(entry, dict)
    }
    return values.get
