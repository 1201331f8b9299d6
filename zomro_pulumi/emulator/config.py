"""Settings of the emulator, and the checks for changing them while it runs.

One dataclass holds everything the CLI can set; the subset in ``RUNTIME_FIELDS``
can also be changed through ``POST /_emulator/faults`` so a test can switch a
fault on and off without restarting the server.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Optional

#: Kinds of transient fault the emulator can inject into API requests.
TRANSIENT_KINDS: tuple[str, ...] = ("5xx", "drop", "runningoperation")

#: The account that exists unless ``demo_account`` is off.
DEMO_USER = "demo"
DEMO_PASSWORD = "demo"


@dataclass
class EmulatorConfig:
    """Everything that shapes the emulator's behaviour (see ``--help`` of the CLI)."""

    host: str = "127.0.0.1"
    port: int = 8765
    #: Extra accounts, user name -> password.
    accounts: dict[str, str] = field(default_factory=dict)
    #: Whether the ``demo``/``demo`` account exists.
    demo_account: bool = True
    #: Seconds an ordered image stays ``Saving`` before it becomes ``Active``.
    activation_delay: float = 3.0
    #: Seconds a deleted image stays listed as ``Deleting``.
    delete_delay: float = 1.0
    #: Seconds a session token lives after its last request.
    session_idle: float = 3600.0
    #: Whether the order answer carries the new image id in ``doc.id``.
    order_returns_id: bool = True
    #: Whether a one-item list page is an object rather than a one-item list.
    single_elem_object: bool = True
    #: Items per page when the request has no ``p_cnt`` (0 = all).
    default_page_size: int = 0
    #: Upper bound on ``p_cnt`` (0 = none).
    max_page_size: int = 0
    #: Regex (``re.search``) on image_name: such images end in ``kill_status``.
    kill_name: Optional[str] = None
    #: The failure status a killed image ends in.
    kill_status: str = "Killed"
    #: Regex (``re.search``) on image_name: such images stay ``Saving``.
    stuck_name: Optional[str] = None
    #: Probability (0..1) that an API request fails transiently.
    transient_rate: float = 0.0
    #: Which transient kinds are drawn.
    transient_kinds: tuple[str, ...] = TRANSIENT_KINDS
    #: Milliseconds added to every API request.
    latency_ms: int = 0
    #: Seed of the fault RNG (None = random).
    seed: Optional[int] = None
    #: JSON file images are loaded from at start and saved to after each change.
    state_file: Optional[str] = None
    #: Accepted regions (empty = any non-empty region).
    regions: tuple[str, ...] = ()
    #: Valid pricelist ids.
    pricelists: tuple[str, ...] = ("6854",)
    #: Print one line per API request (func and outcome, never credentials).
    log_requests: bool = False

    def all_accounts(self) -> dict[str, str]:
        """The accounts that can log in: demo (unless disabled) plus ``accounts``."""
        result = {DEMO_USER: DEMO_PASSWORD} if self.demo_account else {}
        result.update(self.accounts)
        return result

    def copy(self) -> EmulatorConfig:
        """An independent copy (the dict field is copied too)."""
        return dataclasses.replace(self, accounts=dict(self.accounts))


#: Fields ``POST /_emulator/faults`` may change.
RUNTIME_FIELDS: tuple[str, ...] = (
    "activation_delay",
    "delete_delay",
    "session_idle",
    "order_returns_id",
    "single_elem_object",
    "default_page_size",
    "max_page_size",
    "kill_name",
    "kill_status",
    "stuck_name",
    "transient_rate",
    "transient_kinds",
    "latency_ms",
    "seed",
    "regions",
    "pricelists",
)


class ConfigError(ValueError):
    """A setting has a value the emulator cannot use."""


def runtime_settings(cfg: EmulatorConfig) -> dict[str, Any]:
    """The runtime-changeable settings as plain JSON values."""
    out: dict[str, Any] = {}
    for name in RUNTIME_FIELDS:
        value = getattr(cfg, name)
        out[name] = list(value) if isinstance(value, tuple) else value
    return out


def _number(name: str, value: Any, *, integer: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be a number")
    if integer and not float(value).is_integer():
        raise ConfigError(f"{name} must be an integer")
    if value < 0:
        raise ConfigError(f"{name} must not be negative")
    return value


def _str_list(name: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",")]
    elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        items = [v.strip() for v in value]
    else:
        raise ConfigError(f"{name} must be a list of strings or a comma-separated string")
    return tuple(v for v in items if v)


def _regex(name: str, value: Any) -> Optional[str]:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be a regular expression string or null")
    try:
        re.compile(value)
    except re.error as exc:
        raise ConfigError(f"{name} is not a valid regular expression: {exc}") from exc
    return value


def coerce_setting(name: str, value: Any) -> Any:
    """Check one runtime setting and return it in the type the config stores.

    Raises ``ConfigError`` for an unknown name or an unusable value.
    """
    if name not in RUNTIME_FIELDS:
        raise ConfigError(f"unknown setting {name!r}; known: {', '.join(RUNTIME_FIELDS)}")
    if name in ("activation_delay", "delete_delay", "session_idle"):
        return float(_number(name, value, integer=False))
    if name in ("default_page_size", "max_page_size", "latency_ms"):
        return int(_number(name, value, integer=True))
    if name == "transient_rate":
        rate = float(_number(name, value, integer=False))
        if rate > 1:
            raise ConfigError("transient_rate must be between 0 and 1")
        return rate
    if name in ("order_returns_id", "single_elem_object"):
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false")
        return value
    if name in ("kill_name", "stuck_name"):
        return _regex(name, value)
    if name == "kill_status":
        if not isinstance(value, str) or not value.strip():
            raise ConfigError("kill_status must be a non-empty string")
        return value.strip()
    if name == "transient_kinds":
        kinds = _str_list(name, value)
        unknown = [k for k in kinds if k not in TRANSIENT_KINDS]
        if unknown:
            raise ConfigError(
                f"unknown transient kinds {unknown}; known: {', '.join(TRANSIENT_KINDS)}"
            )
        return kinds
    if name == "seed":
        if value is None:
            return None
        return int(_number(name, value, integer=True))
    items = _str_list(name, value)  # regions, pricelists
    if name == "pricelists" and not items:
        raise ConfigError("at least one pricelist id is needed")
    return items


def validate(cfg: EmulatorConfig) -> None:
    """Check a whole config (used at start-up) by running every runtime check on it."""
    for name in RUNTIME_FIELDS:
        setattr(cfg, name, coerce_setting(name, runtime_settings(cfg)[name]))
    if not cfg.all_accounts():
        raise ConfigError("no account: give --account USER:PASSWORD or keep the demo account")
