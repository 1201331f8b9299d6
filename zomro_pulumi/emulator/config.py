"""Settings of the emulator, each described once.

Every setting is a field of ``EmulatorConfig`` whose metadata (a ``Setting``) gives
its kind, help text and whether it can change at run time. Everything else is
derived from that one description: the command line's flags (``__main__.py``),
the checks at start-up (``validate``), the checks of ``POST /_emulator/faults``
bodies (``coerce_settings``) and their rendering (``runtime_settings``), so a new
switch is one field here.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

#: Kinds of transient fault the emulator can inject into API requests.
TRANSIENT_KINDS: tuple[str, ...] = ("5xx", "drop", "runningoperation")

#: How a late mutating request is slow: ``answer`` makes the change at once and
#: holds the answer back; ``act`` waits, then makes the change and answers.
LATE_KINDS: tuple[str, ...] = ("answer", "act")

#: Ways a faulty ``func=image`` list answer contradicts itself (see the README).
LIST_FAULT_KINDS: tuple[str, ...] = (
    "truncated",
    "no_elements",
    "idless",
    "overcount",
    "undercount",
)

#: How a call naming a missing, foreign or purged ``elid`` is answered: ``missed``,
#: ``value`` and ``access`` are ``doc.error`` types (HTTP 200); ``http404`` is a
#: proxy's 404 page; ``html`` an HTML error page with HTTP 200.
MISSING_ID_ERRORS: tuple[str, ...] = ("missed", "value", "access", "http404", "html")

#: Where a successful order answer carries the new id: ``doc.id``, ``doc.elid``,
#: ``doc["item.id"]`` (all wrapped), ``doc.id`` as a bare string, or nowhere.
ORDER_REPLIES: tuple[str, ...] = ("id", "elid", "item.id", "bare", "none")

#: How a stored image name's letters are folded: kept as sent, or lower or upper case.
NAME_CASES: tuple[str, ...] = ("kept", "lower", "upper")

#: The word an image shows during ``queued_for`` before its saving word.
QUEUED_WORD = "queued"

#: The account that exists unless ``demo_account`` is off.
DEMO_USER = "demo"
DEMO_PASSWORD = "demo"


class SettingError(ValueError):
    """A setting has a value the emulator cannot use."""


# --- kinds of setting -------------------------------------------------------------------
#
# A kind knows how to read a value from the command line (``parse``: syntax only, so a
# value the shell can carry but the emulator cannot use is refused by ``check`` with the
# same words at start-up and at run time), how to check a JSON or Python value and turn
# it into what the config stores (``check``), and how to show it (``to_json``, ``show``).


@dataclass(frozen=True)
class Kind:
    """The base kind: text, as given."""

    metavar: Optional[str] = None

    def parse(self, text: str) -> Any:
        """A command-line value, before ``check``."""
        return text

    def from_args(self, value: Any) -> Any:
        """What the parsed option gives the config (before ``check``)."""
        return value

    def check(self, name: str, value: Any) -> Any:
        """The value as the config stores it; ``SettingError`` if unusable."""
        if not isinstance(value, str):
            raise SettingError(f"{name} must be a string")
        return value

    def to_json(self, value: Any) -> Any:
        """The stored value as plain JSON."""
        return list(value) if isinstance(value, tuple) else value

    def show(self, value: Any) -> str:
        """The value as the command line would give it (for ``--help``)."""
        if value is None or value == ():
            return "none"
        if isinstance(value, bool):
            return "on" if value else "off"
        return ",".join(value) if isinstance(value, tuple) else str(value)

    def add_flag(self, parser: argparse.ArgumentParser, flag: str, dest: str, default: Any) -> Any:
        """Add this setting's option to ``parser``; returns the argparse action."""
        return parser.add_argument(
            flag, dest=dest, type=self.parse, default=default, metavar=self.metavar
        )


@dataclass(frozen=True)
class Word(Kind):
    """Non-empty text, surrounding blanks dropped (a status word)."""

    metavar: Optional[str] = "WORD"

    def check(self, name: str, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            raise SettingError(f"{name} must be a non-empty string")
        return value.strip()


@dataclass(frozen=True)
class FilePath(Kind):
    """A file path, or None for no file."""

    metavar: Optional[str] = "PATH"

    def check(self, name: str, value: Any) -> Any:
        if value is None or value == "":
            return None
        if not isinstance(value, (str, os.PathLike)):
            raise SettingError(f"{name} must be a path or null")
        return os.fspath(value)


@dataclass(frozen=True)
class Number(Kind):
    """A non-negative number: float or ``integer``, at most ``maximum``, None if
    ``nullable``."""

    integer: bool = False
    maximum: Optional[float] = None
    nullable: bool = False

    def add_flag(self, parser: argparse.ArgumentParser, flag: str, dest: str, default: Any) -> Any:
        # int/float themselves, so argparse says "invalid float value: 'soon'".
        number: Callable[[str], Any] = int if self.integer else float
        return parser.add_argument(
            flag, dest=dest, type=number, default=default, metavar=self.metavar
        )

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SettingError(f"{name} must be a number")
        if self.integer and not float(value).is_integer():
            raise SettingError(f"{name} must be an integer")
        if value < 0:
            raise SettingError(f"{name} must not be negative")
        if self.maximum is not None and value > self.maximum:
            raise SettingError(f"{name} must be between 0 and {self.maximum:g}")
        return int(value) if self.integer else float(value)


@dataclass(frozen=True)
class Flag(Kind):
    """On or off: ``--name`` / ``--no-name``; JSON true or false."""

    def add_flag(self, parser: argparse.ArgumentParser, flag: str, dest: str, default: Any) -> Any:
        return parser.add_argument(
            flag, dest=dest, action=argparse.BooleanOptionalAction, default=default
        )

    def check(self, name: str, value: Any) -> Any:
        if not isinstance(value, bool):
            raise SettingError(f"{name} must be true or false")
        return value


@dataclass(frozen=True)
class Choice(Kind):
    """One word of ``choices``."""

    choices: tuple[str, ...] = ()

    def add_flag(self, parser: argparse.ArgumentParser, flag: str, dest: str, default: Any) -> Any:
        return parser.add_argument(flag, dest=dest, choices=self.choices, default=default)

    def check(self, name: str, value: Any) -> Any:
        if value not in self.choices:
            raise SettingError(f"{name} must be one of {', '.join(self.choices)}, not {value!r}")
        return str(value)


@dataclass(frozen=True)
class Regex(Kind):
    """A regular expression (``re.search``), or None for none."""

    metavar: Optional[str] = "REGEX"

    def check(self, name: str, value: Any) -> Any:
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise SettingError(f"{name} must be a regular expression string or null")
        try:
            re.compile(value)
        except re.error as exc:
            raise SettingError(f"{name} is not a valid regular expression: {exc}") from exc
        return value


@dataclass(frozen=True)
class Words(Kind):
    """A list of words (JSON list or comma-separated text), each one of ``known``
    if given; at least one if ``required``."""

    metavar: Optional[str] = "A,..."
    known: tuple[str, ...] = ()
    required: bool = False

    def parse(self, text: str) -> Any:
        return tuple(item.strip() for item in text.split(",") if item.strip())

    def check(self, name: str, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise SettingError(f"{name} must be a list of strings or a comma-separated string")
        items = tuple(v.strip() for v in value if v.strip())
        unknown = [v for v in items if self.known and v not in self.known]
        if unknown:
            raise SettingError(f"{name}: unknown {unknown}; known: {', '.join(self.known)}")
        if self.required and not items:
            raise SettingError(f"{name} needs at least one value")
        return items


@dataclass(frozen=True)
class Accounts(Kind):
    """User name -> password; on the command line a repeatable ``USER:PASSWORD``."""

    metavar: Optional[str] = "USER:PASSWORD"

    def parse(self, text: str) -> Any:
        user, sep, password = text.partition(":")
        if not sep or not user or not password:
            raise argparse.ArgumentTypeError("expected USER:PASSWORD")
        return user, password

    def add_flag(self, parser: argparse.ArgumentParser, flag: str, dest: str, default: Any) -> Any:
        return parser.add_argument(
            flag, dest=dest, action="append", type=self.parse, default=[], metavar=self.metavar
        )

    def from_args(self, value: Any) -> Any:
        return dict(value)  # the USER:PASSWORD pairs

    def check(self, name: str, value: Any) -> Any:
        if not isinstance(value, dict) or not all(
            isinstance(u, str) and u and ":" not in u and isinstance(p, str) and p
            for u, p in value.items()
        ):
            raise SettingError(f"{name} must map user names (no ':') to non-empty passwords")
        return dict(value)


SECONDS = Number(metavar="SECONDS")
COUNT = Number(integer=True, metavar="N")
RATE = Number(maximum=1, metavar="0..1")


@dataclass(frozen=True)
class Setting:
    """One setting's description: its kind, help text, whether ``POST
    /_emulator/faults`` may change it, and its flag if not ``--<name>``."""

    kind: Kind
    help: str
    runtime: bool = False
    flag: str = ""


#: The metadata key of a field's ``Setting``.
SETTING = "zomro_emulator_setting"


def setting(default: Any, kind: Kind, help: str, *, runtime: bool = False) -> Any:
    """A config field with an immutable default, described by a ``Setting``."""
    return field(default=default, metadata={SETTING: Setting(kind, help, runtime)})


@dataclass
class EmulatorConfig:
    """Everything that shapes the emulator's behaviour, one described field per setting
    (``zomro-emulator --help`` lists them; ``RUNTIME_FIELDS`` can change at run time)."""

    host: str = setting("127.0.0.1", Kind(metavar="ADDRESS"), "address to bind")
    port: int = setting(
        8765, Number(integer=True, maximum=65535, metavar="PORT"), "0 = a free port"
    )
    accounts: dict[str, str] = field(
        default_factory=dict,
        metadata={SETTING: Setting(Accounts(), "extra account (repeatable)", flag="--account")},
    )
    demo_account: bool = setting(True, Flag(), f"the {DEMO_USER}/{DEMO_PASSWORD} account exists")
    activation_delay: float = setting(
        3.0, SECONDS, "an ordered image is saving this long, then active", runtime=True
    )
    delete_delay: float = setting(
        1.0, SECONDS, "a deleted image is listed as deleting this long", runtime=True
    )
    session_idle: float = setting(
        3600.0, SECONDS, "a session token lives this long after its last request", runtime=True
    )
    order_reply: str = setting(
        "id",
        Choice(choices=ORDER_REPLIES),
        "where a successful order answer carries the new id: doc.id, doc.elid, "
        'doc["item.id"] (wrapped), doc.id unwrapped (bare), or nowhere (none)',
        runtime=True,
    )
    missing_id_error: str = setting(
        "missed",
        Choice(choices=MISSING_ID_ERRORS),
        "answer to a call on a missing id: doc.error $type missed, value or access "
        "(HTTP 200), a proxy's HTTP 404 page, or an HTML page with HTTP 200",
        runtime=True,
    )
    saving_status: str = setting(
        "Saving", Word(), "fleio_status while the file uploads", runtime=True
    )
    active_status: str = setting("Active", Word(), "fleio_status of a ready image", runtime=True)
    deleting_status: str = setting(
        "Deleting", Word(), "fleio_status while an image is deleted", runtime=True
    )
    queued_for: float = setting(
        0.0, SECONDS, f"an ordered image shows '{QUEUED_WORD}' this long first", runtime=True
    )
    single_elem_object: bool = setting(
        True, Flag(), "a one-item list page is an object, not a list", runtime=True
    )
    default_page_size: int = setting(
        0, COUNT, "items per list page without p_cnt (0 = all)", runtime=True
    )
    max_page_size: int = setting(0, COUNT, "cap on p_cnt (0 = none)", runtime=True)
    kill_name: Optional[str] = setting(
        None, Regex(), "images whose name matches fail: they end in kill_status", runtime=True
    )
    kill_status: str = setting("Killed", Word(), "the status a failed upload ends in", runtime=True)
    stuck_name: Optional[str] = setting(
        None, Regex(), "images whose name matches stay saving", runtime=True
    )
    lose_order_name: Optional[str] = setting(
        None,
        Regex(),
        "orders of an image whose name matches are answered HTTP 502 and not made "
        "(the next lose_orders of them)",
        runtime=True,
    )
    lose_orders: int = setting(1, COUNT, "how many orders lose_order_name still loses", runtime=True)
    lost_order_lands_after: Optional[float] = setting(
        None,
        Number(nullable=True, metavar="SECONDS"),
        "an order lose_order_name loses is made this many seconds after its lost answer "
        "(0 = at once; none = never)",
        runtime=True,
    )
    name_cut: int = setting(
        0, COUNT, "image names are stored cut to this many characters (0 = whole)", runtime=True
    )
    name_case: str = setting(
        "kept", Choice(choices=NAME_CASES), "image names are stored in this case", runtime=True
    )
    name_trim: bool = setting(
        False, Flag(), "image names are stored without surrounding blanks", runtime=True
    )
    transient_rate: float = setting(
        0.0, RATE, "probability of a transient fault per API request", runtime=True
    )
    transient_kinds: tuple[str, ...] = setting(
        TRANSIENT_KINDS,
        Words("KIND,...", known=TRANSIENT_KINDS),
        "transient faults drawn",
        runtime=True,
    )
    transient_funcs: tuple[str, ...] = setting(
        (), Words("FUNC,..."), "the functions transient faults strike (none = every one)", runtime=True
    )
    late_rate: float = setting(
        0.0, RATE, "probability that a mutating request is late by late_s", runtime=True
    )
    late_s: float = setting(0.0, SECONDS, "how late a late request is", runtime=True)
    late_kinds: tuple[str, ...] = setting(
        LATE_KINDS,
        Words("KIND,...", known=LATE_KINDS),
        "answer: change at once, answer late; act: wait, then change and answer",
        runtime=True,
    )
    list_fault_rate: float = setting(
        0.0, RATE, "probability that an image list answer contradicts itself", runtime=True
    )
    list_fault_kinds: tuple[str, ...] = setting(
        LIST_FAULT_KINDS,
        Words("KIND,...", known=LIST_FAULT_KINDS),
        "self-contradictions drawn for a faulty list answer",
        runtime=True,
    )
    list_filter: Optional[str] = setting(
        None,
        Regex(),
        "the image list shows only images whose name matches, its counts agreeing "
        "(a filter saved in the panel); the single view shows every image",
        runtime=True,
    )
    omit_paging_fields: bool = setting(
        False, Flag(), "list answers carry no p_cnt, p_elems, p_num", runtime=True
    )
    latency_ms: int = setting(0, COUNT, "milliseconds added to every API request", runtime=True)
    seed: Optional[int] = setting(
        None, Number(integer=True, nullable=True, metavar="N"), "seed of the faults", runtime=True
    )
    state_file: Optional[str] = setting(
        None, FilePath(), "JSON file images are loaded from and saved to"
    )
    regions: tuple[str, ...] = setting(
        (), Words("REGION,..."), "accepted regions (none = any non-empty region)", runtime=True
    )
    pricelists: tuple[str, ...] = setting(
        ("6854",), Words("ID,...", required=True), "valid pricelist ids", runtime=True
    )
    log_requests: bool = setting(
        False, Flag(), "print one line per API request (func and outcome, never credentials)"
    )

    def stored_name(self, name: str) -> str:
        """An image name as the API stores it under ``name_trim``, ``name_case``
        and ``name_cut`` (in that order)."""
        if self.name_trim:
            name = name.strip()
        if self.name_case != "kept":
            name = name.lower() if self.name_case == "lower" else name.upper()
        return name[: self.name_cut] if self.name_cut else name

    def all_accounts(self) -> dict[str, str]:
        """The accounts that can log in: demo (unless disabled) plus ``accounts``."""
        result = {DEMO_USER: DEMO_PASSWORD} if self.demo_account else {}
        result.update(self.accounts)
        return result

    def copy(self) -> EmulatorConfig:
        """An independent copy (the dict field is copied too)."""
        return dataclasses.replace(self, accounts=dict(self.accounts))


#: Every setting's description, in field order.
SETTINGS: dict[str, Setting] = {
    f.name: f.metadata[SETTING] for f in dataclasses.fields(EmulatorConfig)
}

#: Settings ``POST /_emulator/faults`` may change.
RUNTIME_FIELDS: tuple[str, ...] = tuple(n for n, s in SETTINGS.items() if s.runtime)


def flag_of(name: str) -> str:
    """A setting's command-line flag."""
    return SETTINGS[name].flag or "--" + name.replace("_", "-")


def runtime_settings(cfg: EmulatorConfig) -> dict[str, Any]:
    """The runtime-changeable settings as plain JSON values."""
    return {name: SETTINGS[name].kind.to_json(getattr(cfg, name)) for name in RUNTIME_FIELDS}


def coerce_setting(name: str, value: Any) -> Any:
    """Check one runtime setting and return it in the type the config stores.

    Raises ``SettingError`` for an unknown or start-up-only name or an unusable value.
    """
    if name not in RUNTIME_FIELDS:
        if name in SETTINGS:
            raise SettingError(f"{name} can only be set at start-up")
        raise SettingError(f"unknown setting {name!r}; known: {', '.join(RUNTIME_FIELDS)}")
    return SETTINGS[name].kind.check(name, value)


def coerce_settings(body: dict[str, Any]) -> dict[str, Any]:
    """Check a ``POST /_emulator/faults`` body; returns config field -> value.

    All or nothing: raises ``SettingError`` on the first bad key or value.
    """
    return {name: coerce_setting(name, value) for name, value in body.items()}


def validate(cfg: EmulatorConfig) -> None:
    """Check a whole config (at start-up) with the same checks as at run time,
    storing each value in its canonical type."""
    for name, spec in SETTINGS.items():
        setattr(cfg, name, spec.kind.check(name, getattr(cfg, name)))
    if not cfg.all_accounts():
        raise SettingError("no account: give --account USER:PASSWORD or keep the demo account")
