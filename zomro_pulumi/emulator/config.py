"""Settings of the emulator, and the checks for changing them while it runs.

One dataclass holds everything the CLI can set; the subset in ``RUNTIME_FIELDS``
can also be changed through ``POST /_emulator/faults`` so a test can switch a
fault or an answer shape on and off without restarting the server.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import InitVar, dataclass, field
from typing import Any, Optional

#: Kinds of transient fault the emulator can inject into API requests.
TRANSIENT_KINDS: tuple[str, ...] = ("5xx", "drop", "runningoperation")

#: How a call naming a missing, foreign or purged ``elid`` is answered: ``missed``,
#: ``value`` and ``access`` are ``doc.error`` types (HTTP 200); ``http404`` is a
#: proxy's 404 page; ``html`` an HTML error page with HTTP 200.
MISSING_ID_ERRORS: tuple[str, ...] = ("missed", "value", "access", "http404", "html")

#: Where a successful order answer carries the new id: ``doc.id``, ``doc.elid``,
#: ``doc["item.id"]`` (all wrapped), ``doc.id`` as a bare string, or nowhere.
ORDER_REPLIES: tuple[str, ...] = ("id", "elid", "item.id", "bare", "none")

#: The word an image shows during ``queued_for`` before its saving word.
QUEUED_WORD = "queued"

#: The account that exists unless ``demo_account`` is off.
DEMO_USER = "demo"
DEMO_PASSWORD = "demo"


class SettingError(ValueError):
    """A setting has a value the emulator cannot use."""


def fold_order_alias(reply: str, returns_id: Optional[bool]) -> str:
    """``order_reply`` after the older boolean ``order_returns_id`` is applied.

    False means no id (``none``); True means an id, so it turns ``none`` into
    ``id`` and keeps any other shape that carries one.
    """
    if returns_id is None:
        return reply
    if not returns_id:
        return "none"
    return "id" if reply == "none" else reply


@dataclass
class EmulatorConfig:
    """Everything that shapes the emulator's behaviour (see ``--help`` of the CLI)."""

    host: str = "127.0.0.1"
    port: int = 8765
    #: Extra accounts, user name -> password.
    accounts: dict[str, str] = field(default_factory=dict)
    #: Whether the ``demo``/``demo`` account exists.
    demo_account: bool = True
    #: Seconds an ordered image is saving before it becomes active.
    activation_delay: float = 3.0
    #: Seconds a deleted image stays listed as deleting.
    delete_delay: float = 1.0
    #: Seconds a session token lives after its last request.
    session_idle: float = 3600.0
    #: Shape of a successful order answer, one of ``ORDER_REPLIES``.
    order_reply: str = "id"
    #: Older switch, accepted when constructing only (read ``order_reply``):
    #: False means ``order_reply="none"``, True means ``"id"``.
    order_returns_id: InitVar[Optional[bool]] = None
    #: How a call naming a missing id is answered, one of ``MISSING_ID_ERRORS``.
    missing_id_error: str = "missed"
    #: ``fleio_status`` word of an image whose file is being uploaded.
    saving_status: str = "Saving"
    #: ``fleio_status`` word of a ready image.
    active_status: str = "Active"
    #: ``fleio_status`` word of an image being deleted.
    deleting_status: str = "Deleting"
    #: Seconds after an order during which the image shows ``queued`` (before saving).
    queued_for: float = 0.0
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
    #: Regex (``re.search``) on image_name: such images stay saving.
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

    def __post_init__(self, order_returns_id: Optional[bool]) -> None:
        folded = fold_order_alias(self.order_reply, order_returns_id)
        if folded != self.order_reply and self.order_reply != "id":
            raise SettingError(
                f"order_returns_id={order_returns_id} contradicts order_reply={self.order_reply!r}"
            )
        self.order_reply = folded

    def all_accounts(self) -> dict[str, str]:
        """The accounts that can log in: demo (unless disabled) plus ``accounts``."""
        result = {DEMO_USER: DEMO_PASSWORD} if self.demo_account else {}
        result.update(self.accounts)
        return result

    def copy(self) -> EmulatorConfig:
        """An independent copy (the dict field is copied too)."""
        return dataclasses.replace(self, accounts=dict(self.accounts))


#: Fields ``POST /_emulator/faults`` may change (``order_returns_id`` is the older
#: boolean form of ``order_reply``).
RUNTIME_FIELDS: tuple[str, ...] = (
    "activation_delay",
    "delete_delay",
    "session_idle",
    "order_reply",
    "order_returns_id",
    "missing_id_error",
    "saving_status",
    "active_status",
    "deleting_status",
    "queued_for",
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

#: Settings that are a status word: non-empty text, surrounding blanks dropped.
STATUS_WORD_FIELDS = ("saving_status", "active_status", "deleting_status", "kill_status")


def runtime_settings(cfg: EmulatorConfig) -> dict[str, Any]:
    """The runtime-changeable settings as plain JSON values."""
    out: dict[str, Any] = {}
    for name in RUNTIME_FIELDS:
        if name == "order_returns_id":
            out[name] = cfg.order_reply != "none"
            continue
        value = getattr(cfg, name)
        out[name] = list(value) if isinstance(value, tuple) else value
    return out


def _number(name: str, value: Any, *, integer: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SettingError(f"{name} must be a number")
    if integer and not float(value).is_integer():
        raise SettingError(f"{name} must be an integer")
    if value < 0:
        raise SettingError(f"{name} must not be negative")
    return value


def _str_list(name: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",")]
    elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        items = [v.strip() for v in value]
    else:
        raise SettingError(f"{name} must be a list of strings or a comma-separated string")
    return tuple(v for v in items if v)


def _regex(name: str, value: Any) -> Optional[str]:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise SettingError(f"{name} must be a regular expression string or null")
    try:
        re.compile(value)
    except re.error as exc:
        raise SettingError(f"{name} is not a valid regular expression: {exc}") from exc
    return value


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise SettingError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return str(value)


def coerce_setting(name: str, value: Any) -> Any:
    """Check one runtime setting and return it in the type the config stores.

    Raises ``SettingError`` for an unknown name or an unusable value.
    """
    if name not in RUNTIME_FIELDS:
        raise SettingError(f"unknown setting {name!r}; known: {', '.join(RUNTIME_FIELDS)}")
    if name in ("activation_delay", "delete_delay", "session_idle", "queued_for"):
        return float(_number(name, value, integer=False))
    if name in ("default_page_size", "max_page_size", "latency_ms"):
        return int(_number(name, value, integer=True))
    if name == "transient_rate":
        rate = float(_number(name, value, integer=False))
        if rate > 1:
            raise SettingError("transient_rate must be between 0 and 1")
        return rate
    if name in ("order_returns_id", "single_elem_object"):
        if not isinstance(value, bool):
            raise SettingError(f"{name} must be true or false")
        return value
    if name == "order_reply":
        return _choice(name, value, ORDER_REPLIES)
    if name == "missing_id_error":
        return _choice(name, value, MISSING_ID_ERRORS)
    if name in ("kill_name", "stuck_name"):
        return _regex(name, value)
    if name in STATUS_WORD_FIELDS:
        if not isinstance(value, str) or not value.strip():
            raise SettingError(f"{name} must be a non-empty string")
        return value.strip()
    if name == "transient_kinds":
        kinds = _str_list(name, value)
        unknown = [k for k in kinds if k not in TRANSIENT_KINDS]
        if unknown:
            raise SettingError(
                f"unknown transient kinds {unknown}; known: {', '.join(TRANSIENT_KINDS)}"
            )
        return kinds
    if name == "seed":
        if value is None:
            return None
        return int(_number(name, value, integer=True))
    items = _str_list(name, value)  # regions, pricelists
    if name == "pricelists" and not items:
        raise SettingError("at least one pricelist id is needed")
    return items


def coerce_settings(body: dict[str, Any], current: EmulatorConfig) -> dict[str, Any]:
    """Check a ``POST /_emulator/faults`` body; returns config field -> value.

    All or nothing: raises ``SettingError`` on the first bad key or value. The
    older ``order_returns_id`` becomes an ``order_reply`` (refused if the same
    body asks for a contradicting ``order_reply``).
    """
    values = {name: coerce_setting(name, value) for name, value in body.items()}
    if "order_returns_id" in values:
        returns_id = values.pop("order_returns_id")
        reply = values.get("order_reply", current.order_reply)
        folded = fold_order_alias(reply, returns_id)
        if "order_reply" in values and folded != reply:
            raise SettingError(
                f"order_returns_id={str(returns_id).lower()} contradicts order_reply={reply!r}"
            )
        values["order_reply"] = folded
    return values


def validate(cfg: EmulatorConfig) -> None:
    """Check a whole config (used at start-up) by running every runtime check on it."""
    settings = runtime_settings(cfg)
    for name in RUNTIME_FIELDS:
        if name != "order_returns_id":  # derived from order_reply
            setattr(cfg, name, coerce_setting(name, settings[name]))
    if not cfg.all_accounts():
        raise SettingError("no account: give --account USER:PASSWORD or keep the demo account")
