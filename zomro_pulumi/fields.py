"""The one table of the Image resource's fields.

Each input is declared once here: its form key, whether a change is made in
place (`image.edit`) or needs a new image, how to validate it, how to send it
and how to read it back from an `ImageRecord`.  `check`, `diff`, `create`,
`update`, `read` and the README's table all iterate over `INPUTS`, so adding a
field is one line, not four edits kept in step by hand.

`check_inputs` turns what Pulumi sends into an `ImageSpec`: frozen, typed, with
the defaults filled in.  Only the provider handles Pulumi's property dicts; the
lifecycle and the ordering room work from the spec.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Mapping
from typing import Any, Callable, Optional, Union
from urllib.parse import urlsplit

from .model import ORDER_MARK_LENGTH, ImageRecord, keeps_tokens


class Change(enum.Enum):
    EDIT = "updates in place"
    REPLACE = "replaces the image"
    LOCAL = "provider setting, no API call"


class Invalid(ValueError):
    """A value that would be refused; the text says what is allowed."""


class InvalidSecret(Invalid):
    """A value refused because it holds a secret.  Its failure names the property
    only in its text: the engine prints the value of a failing property, and this
    one must not be printed."""


DISK_FORMATS = ("iso", "ami", "ari", "aki", "vhd", "vmdk", "raw", "qcow2", "vdi")
ARCHITECTURES = ("x86_64", "i686", "ia64")
ORDER_PERIODS = (-50,)
# The API takes text fields of up to 255 characters.  An order carries its
# image's name behind a unique token (`zp-`, 16 hex digits and `-`) until the
# image is Active, so a name may be that much shorter.
TEXT_LIMIT = 255
ORDER_TOKEN_LENGTH = ORDER_MARK_LENGTH + 1
NAME_LIMIT = TEXT_LIMIT - ORDER_TOKEN_LENGTH
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_ACCOUNT = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,62}")


def _text(value: Any, limit: int = TEXT_LIMIT) -> str:
    if not isinstance(value, str):
        raise Invalid(f"must be a string, got {type(value).__name__}")
    if not value.strip():
        raise Invalid("must not be empty")
    if value != value.strip():
        raise Invalid("must not start or end with spaces")
    control = _CONTROL.search(value)
    if control:
        raise Invalid(
            f"must not contain control characters (found {control.group()!r} at position "
            f"{control.start()})"
        )
    if len(value) > limit:
        raise Invalid(f"must be at most {limit} characters, got {len(value)}")
    return value


def _name(value: Any) -> str:
    try:
        return _text(value, NAME_LIMIT)
    except Invalid as exc:
        if "at most" not in str(exc):
            raise
        raise Invalid(
            f"{exc}: the API takes {TEXT_LIMIT}, and a new image carries a "
            f"{ORDER_TOKEN_LENGTH}-character order token in its name until it is Active"
        ) from None


def _account(value: Any) -> str:
    if not isinstance(value, str) or not _ACCOUNT.fullmatch(value):
        raise Invalid(
            "must be an account name of letters, digits, '_' and '-' starting with a letter "
            f"(a key of zomro:accounts); got {value!r}"
        )
    return value


def _optional_text(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # os_version "24" written as 24 is a common slip; the API takes strings.
        value = str(int(value)) if float(value).is_integer() else str(value)
    return _text(value)


def _enum(allowed: tuple[str, ...]) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise Invalid(f"must be one of {', '.join(allowed)}; got {value!r}")
        return value

    return parse


def _whole(minimum: int = 1, allowed: Optional[tuple[int, ...]] = None) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        # Pulumi sends numbers as floats; 2.0 is fine, 2.5 and "2" are not.
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise Invalid(f"must be a whole number, got {type(value).__name__} {value!r}")
        if isinstance(value, float) and not value.is_integer():
            raise Invalid(f"must be a whole number, got {value!r}")
        number = int(value)
        if allowed is not None:
            if number not in allowed:
                raise Invalid(f"must be one of {', '.join(map(str, allowed))}; got {number}")
        elif number < minimum:
            raise Invalid(f"must be a whole number of at least {minimum}, got {number}")
        return number

    return parse


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"must be true or false, got {type(value).__name__} {value!r}")
    return value


def _url(value: Any) -> str:
    # Credentials first: any other refusal would have the engine print the value.
    if isinstance(value, str):
        try:
            parts = urlsplit(value.strip())
        except ValueError as exc:  # a broken [IPv6] host; the text may hold credentials
            raise InvalidSecret(
                f"must be a direct http:// or https:// link to the image file ({exc})"
            ) from None
        if parts.username is not None or parts.password is not None:
            raise InvalidSecret(
                "must not carry credentials (user:password@): the url is kept in the Pulumi "
                "state and the outputs in clear text; use a link that needs no login"
            )
    text = _text(value, 2048)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or " " in text:
        raise Invalid(f"must be a direct http:// or https:// link to the image file; got {text!r}")
    return text


def _digits(value: Any) -> str:
    if (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and float(value).is_integer()
    ):
        value = str(int(value))
    text = _text(value)
    if not text.isdigit():
        raise Invalid(f"must be a numeric id such as '6854'; got {text!r}")
    return text


def _on_off(value: Any) -> str:
    return "on" if value else "off"


def _whole_form(value: Any) -> str:
    # Numbers cross Pulumi's gRPC as floats: send 1, not 1.0.
    return str(int(value))


@dataclasses.dataclass(frozen=True)
class Field:
    """One input of `zomro.Image`."""

    name: str
    change: Change
    parse: Callable[[Any], Any]
    doc: str
    required: bool = False
    default: Any = None
    form: Callable[[Any], str] = str
    ignore_case: bool = False
    stored_altered: bool = False
    """The API may store this name cut short, case-folded or trimmed."""
    sent: bool = True
    """False for inputs the API never sees (provider settings, the account)."""
    kind: str = "string"
    """Its type in the package schema: string, integer or boolean."""
    choices: tuple[Any, ...] = ()
    """The only values `parse` takes, when they are few (named in the schema)."""

    @property
    def form_key(self) -> Optional[str]:
        return self.name if self.sent and self.change is not Change.LOCAL else None

    def live(self, record: ImageRecord) -> Any:
        """The value the API reports for this input (None: not reported by that view)."""
        return getattr(record, self.name) if self.form_key else None

    def same(self, old: Any, new: Any) -> bool:
        """Equal for diff purposes; the API capitalises some values it lists back."""
        if self.ignore_case and isinstance(old, str) and isinstance(new, str):
            return old.casefold() == new.casefold()
        return bool(old == new)

    def stored_as(self, mine: Any, live: Any) -> bool:
        """Whether `live`, as the API reports it, is how it stores `mine`: then
        the user's spelling is kept, and nothing is edited."""
        if self.same(mine, live):
            return True
        return (
            self.stored_altered and isinstance(mine, str) and isinstance(live, str)
            and keeps_tokens(mine, live)
        )


INPUTS: tuple[Field, ...] = (
    Field(
        "image_name",
        Change.EDIT,
        _name,
        "Name of the image as shown in the panel.",
        required=True,
        stored_altered=True,
    ),
    Field(
        "region",
        Change.REPLACE,
        _text,
        "Data centre that stores the image, e.g. `Netherlands-2`.",
        required=True,
        ignore_case=True,
    ),
    Field(
        "url",
        Change.REPLACE,
        _url,
        "Direct http(s) link to the image file the API downloads.",
        required=True,
    ),
    Field(
        "disk_format",
        Change.REPLACE,
        _enum(DISK_FORMATS),
        f"Image file format: one of {', '.join(DISK_FORMATS)}.",
        required=True,
        ignore_case=True,
        choices=DISK_FORMATS,
    ),
    Field(
        "os_distro",
        Change.EDIT,
        _text,
        "Operating system name, e.g. `ubuntu` (listed back as `Ubuntu`).",
        required=True,
        ignore_case=True,
    ),
    Field(
        "os_version",
        Change.EDIT,
        _optional_text,
        "Operating system version, e.g. `24`.",
    ),
    Field(
        "architecture",
        Change.EDIT,
        _enum(ARCHITECTURES),
        f"CPU architecture: one of {', '.join(ARCHITECTURES)}.",
        required=True,
        ignore_case=True,
        choices=ARCHITECTURES,
    ),
    Field(
        "min_disk",
        Change.EDIT,
        _whole(1),
        "Minimum instance disk in GB (whole number >= 1).",
        default=1,
        form=_whole_form,
        kind="integer",
    ),
    Field(
        "min_ram",
        Change.EDIT,
        _whole(1),
        "Minimum instance RAM in GB (whole number >= 1).",
        default=1,
        form=_whole_form,
        kind="integer",
    ),
    Field(
        "protected",
        Change.EDIT,
        _bool,
        "Blocks deletion while true (also blocks `pulumi destroy`).",
        default=False,
        form=_on_off,
        kind="boolean",
    ),
    Field(
        "pricelist",
        Change.REPLACE,
        _digits,
        "Id of the image tariff (price list).",
        default="6854",
    ),
    Field(
        "order_period",
        Change.REPLACE,
        _whole(allowed=ORDER_PERIODS),
        "Billing period; images are billed daily, which the API calls -50.",
        default=-50,
        form=_whole_form,
        kind="integer",
        choices=ORDER_PERIODS,
    ),
    Field(
        "create_timeout",
        Change.LOCAL,
        _whole(1),
        "Seconds to wait for a new image to become Active before it is deleted and the create fails.",
        default=1800,
        kind="integer",
    ),
    Field(
        "adopt_image_id",
        Change.LOCAL,
        _digits,
        "Id of an existing image to take over instead of ordering a new one.",
    ),
    Field(
        "account",
        Change.REPLACE,
        _account,
        "Name of the Zomro account (a key of `zomro:accounts`) that holds the image; "
        "absent: the default settings.",
        sent=False,
    ),
)

BY_NAME: Mapping[str, Field] = {f.name: f for f in INPUTS}

@dataclasses.dataclass(frozen=True)
class Output:
    """One output beside the inputs: where it is read from, its schema type and
    what it means (the README's output table and the package schema say this)."""

    name: str
    attr: Optional[str]
    """The ImageRecord attribute it is read from; None: kept by the provider."""
    kind: str
    doc: str


# `image_id` is the Pulumi id too.  The order token of the image's create is kept
# by the provider: later runs need it to know a late double of that order (an
# image carrying the token under another id).
ORDER_TOKEN = "order_token"
OUTPUT_TABLE: tuple[Output, ...] = (
    Output("image_id", "id", "string", "the API's image id (`elid`), also the resource id"),
    Output("status", "status", "string", "the image's status as listed (`fleio_status`), e.g. `Active`"),
    Output("image_size", "image_size", "integer", "stored size in GB"),
    Output("cost", "cost", "string", "price label, e.g. `0.00 EUR / Day`"),
    Output("visibility", "visibility", "string", "`Private` for the account's own images"),
    Output("fleio_id", "fleio_id", "string", "the image's UUID in the cloud platform (Fleio/OpenStack)"),
    Output("created", "created", "string", "the date the image was ordered"),
    Output(
        ORDER_TOKEN,
        None,
        "string",
        "the 16 hex digits the image's order carried at the front of its name until Active "
        "(`zp-<token>-<image_name>`); a later `refresh`, update or `destroy` deletes (or, if "
        "protected, names) any other image carrying it. None for an adopted or imported image",
    ),
)
OUTPUTS: Mapping[str, Optional[str]] = {o.name: o.attr for o in OUTPUT_TABLE}
"""Output name -> the ImageRecord attribute it is read from (None: kept by the provider)."""


def _default(name: str) -> Any:
    return BY_NAME[name].default


@dataclasses.dataclass(frozen=True)
class ImageSpec:
    """One image's checked inputs, defaults filled in: what the lifecycle and the
    ordering room work from.  Its attributes are exactly `INPUTS` (a test checks)."""

    image_name: str
    region: str
    url: str
    disk_format: str
    os_distro: str
    architecture: str
    os_version: Optional[str] = None
    min_disk: int = _default("min_disk")
    min_ram: int = _default("min_ram")
    protected: bool = _default("protected")
    pricelist: str = _default("pricelist")
    order_period: int = _default("order_period")
    create_timeout: int = _default("create_timeout")
    adopt_image_id: Optional[str] = None
    account: Optional[str] = None

    def value(self, name: str) -> Any:
        return getattr(self, name)

    def inputs(self) -> dict[str, Any]:
        """The inputs by name, for Pulumi (unset optional ones left out)."""
        return {f.name: self.value(f.name) for f in INPUTS if self.value(f.name) is not None}

    def order_form(self, ordered_as: str) -> dict[str, str]:
        """The order's fields: every API input, under the name the order carries,
        unprotected (protection comes once Active, so a failed upload can always
        be deleted again)."""
        form = _form(self.value, [f.name for f in INPUTS])
        form.update(image_name=ordered_as, protected=_on_off(False))
        return form

    def edits_from(self, current: Union[ImageSpec, ImageRecord]) -> dict[str, str]:
        """The `image.edit` fields that bring `current` (earlier inputs, or the
        image as the API shows it) to this spec: every editable field that
        differs, and nothing else.  A removed optional value is sent empty."""
        if isinstance(current, ImageSpec):
            now: Callable[[str], Any] = current.value
        else:
            now = lambda name: BY_NAME[name].live(current)  # noqa: E731
        live = isinstance(current, ImageRecord)
        changed = [
            f.name
            for f in INPUTS
            if f.change is Change.EDIT
            and not (f.stored_as if live else f.same)(self.value(f.name), now(f.name))
        ]
        form = _form(self.value, changed)
        for name in changed:
            form.setdefault(name, "")
        return form

    def unadoptable(self, record: ImageRecord) -> list[str]:
        """Why an existing image cannot be taken over: fields that would need a new image."""
        return [
            f"{f.name} is {f.live(record)!r} there but {self.value(f.name)!r} here"
            for f in INPUTS
            if f.change is Change.REPLACE
            and f.live(record) is not None
            and self.value(f.name) is not None
            and not f.same(f.live(record), self.value(f.name))
        ]


def _form(value: Callable[[str], Any], names: list[str]) -> dict[str, str]:
    form: dict[str, str] = {}
    for f in INPUTS:
        if f.form_key is None or f.name not in names or value(f.name) is None:
            continue
        form[f.form_key] = f.form(value(f.name))
    return form


def to_form(values: Mapping[str, Any]) -> dict[str, str]:
    """Form fields for the API inputs present in `values` (the few edits a
    lifecycle step makes itself: a rename, protect on or off)."""
    return _form(values.get, list(values))


def refreshed_inputs(record: ImageRecord, props: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs as the API reports them now, in the user's spelling where
    only letter case differs; what a view does not report is kept."""
    inputs: dict[str, Any] = {}
    for f in INPUTS:
        mine = props.get(f.name)
        live = f.live(record)
        if live is None or (mine is not None and f.stored_as(mine, live)):
            if mine is not None:
                inputs[f.name] = mine
            elif f.default is not None and f.change is Change.LOCAL:
                inputs[f.name] = f.default
        else:
            inputs[f.name] = live
    return inputs


def outputs(
    record: ImageRecord, inputs: Mapping[str, Any], kept: Optional[Mapping[str, Any]] = None
) -> dict[str, Any]:
    """Every input that has a value, the outputs read from the API, and those
    the provider keeps (from `kept`, left out when it has none: a state of an
    earlier release, or an adopted image, shows no change)."""
    outs = {f.name: inputs.get(f.name) for f in INPUTS if inputs.get(f.name) is not None}
    outs.update({name: getattr(record, attr) for name, attr in OUTPUTS.items() if attr})
    kept = kept or {}
    outs.update({name: kept[name] for name, attr in OUTPUTS.items() if not attr and kept.get(name)})
    return outs


def described(record: ImageRecord) -> dict[str, Any]:
    """An image as a lookup reports it: every input the API reports, and every
    output read from the API (None where the list does not say)."""
    values = {f.name: f.live(record) for f in INPUTS if f.form_key}
    values.update({name: getattr(record, attr) for name, attr in OUTPUTS.items() if attr})
    return values


@dataclasses.dataclass(frozen=True)
class Checked:
    """What `check_inputs` found: the inputs for Pulumi, the problems, and the
    spec (None while a value is not known yet, or when there are problems)."""

    inputs: dict[str, Any]
    #: (property, reason); the property is "" when its value must not be echoed
    #: (the reason names it then)
    problems: list[tuple[str, str]]
    spec: Optional[ImageSpec]


def check_inputs(given: Mapping[str, Any], unknown: Callable[[Any], bool]) -> Checked:
    """Check every input at once; values not known yet (`unknown`, in a preview)
    pass unchecked.  Output placeholders the resource registers (None, or not
    known yet in a preview) are not inputs and not errors."""
    inputs: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    allowed = ", ".join(f.name for f in INPUTS)
    for key, value in given.items():
        if key not in BY_NAME and not (key in OUTPUTS and (value is None or unknown(value))):
            problems.append((key, f"unknown property {key!r}; allowed: {allowed}"))
    pending = False
    for f in INPUTS:
        value = given.get(f.name)
        if value == "" and not f.required and f.default is None:
            value = None  # os_version="" means no version, as leaving it out does
        if value is None:
            if f.required:
                problems.append((f.name, f"{f.name} is required ({f.doc})"))
            elif f.default is not None:
                inputs[f.name] = f.default
            continue
        if unknown(value):
            inputs[f.name], pending = value, True
            continue
        try:
            inputs[f.name] = f.parse(value)
        except Invalid as exc:
            where = "" if isinstance(exc, InvalidSecret) else f.name
            problems.append((where, f"{f.name} {exc}"))
    spec = None if pending or problems else ImageSpec(**inputs)
    return Checked(inputs, problems, spec)


def spec_of(props: Mapping[str, Any]) -> ImageSpec:
    """The spec of inputs the engine sends back after `check` passed them."""
    checked = check_inputs({k: v for k, v in props.items() if k in BY_NAME}, lambda _v: False)
    if checked.spec is None:
        raise ValueError("; ".join(reason for _name, reason in checked.problems))
    return checked.spec


def recorded(props: Mapping[str, Any]) -> ImageSpec:
    """The inputs as a state recorded them, unchecked (an older release may have
    stored what today's checks refuse): for comparing, never for sending."""
    values: dict[str, Any] = {f.name: props.get(f.name) for f in INPUTS}
    for f in INPUTS:
        if values[f.name] is None:
            values[f.name] = "" if f.required else f.default
    return ImageSpec(**values)


def changes(
    olds: Mapping[str, Any], news: Mapping[str, Any], unknown: Callable[[Any], bool]
) -> tuple[list[str], list[str]]:
    """(inputs that changed, those of them that need a new image); a missing
    default in old state and a difference in letter case only are no change."""
    changed: list[str] = []
    replaces: list[str] = []
    for f in INPUTS:
        if f.change is Change.LOCAL:
            continue
        new = news.get(f.name)
        if new is None and f.default is not None:
            new = f.default
        if unknown(new) or not f.same(olds.get(f.name), new):
            changed.append(f.name)
            if f.change is Change.REPLACE:
                replaces.append(f.name)
    return changed, replaces


def take_over(image_id: str) -> str:
    """The input that takes an existing image over, as a Python program writes it
    (`respell` turns it into a schema program's spelling)."""
    return f"adopt_image_id='{image_id}'"


_NAMED = re.compile(
    r"\b(" + "|".join(sorted((f.name for f in INPUTS), key=len, reverse=True)) + r")\b"
    r"(?:='([^']*)'|=(True|False)\b)?"
)


def respell(text: str, spell: Callable[[str], str]) -> str:
    """A message with every input named and set as a program on the schema
    writes it: `disk_format` becomes `diskFormat`, `adopt_image_id='5'`
    `adoptImageId: "5"`, `protected=False` `protected: false`.  Errors, advice
    and progress are worded once, for Python; the plugin sends them through
    this on their way out."""
    if spell is str:
        return text

    def one(match: re.Match[str]) -> str:
        name, quoted, flag = spell(match[1]), match[2], match[3]
        if quoted is not None:
            return f'{name}: "{quoted}"'
        return f"{name}: {flag.lower()}" if flag else name

    return _NAMED.sub(one, text)
