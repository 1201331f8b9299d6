"""The one table of the Image resource's fields.

Each input is declared once here: its form key, whether a change is made in
place (`image.edit`) or needs a new image, how to validate it, how to send it
and how to read it back from an `ImageRecord`.  `check`, `diff`, `create`,
`update`, `read` and the README's table all iterate over `INPUTS`, so adding a
field is one line, not four edits kept in step by hand.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

from .model import ImageRecord


class Change(enum.Enum):
    EDIT = "updates in place"
    REPLACE = "replaces the image"
    LOCAL = "provider setting, no API call"


class Invalid(ValueError):
    """A value that would be refused; the text says what is allowed."""


DISK_FORMATS = ("iso", "ami", "ari", "aki", "vhd", "vmdk", "raw", "qcow2", "vdi")
ARCHITECTURES = ("x86_64", "i686", "ia64")
ORDER_PERIODS = (-50,)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise Invalid(f"must be a string, got {type(value).__name__}")
    if not value.strip():
        raise Invalid("must not be empty")
    if value != value.strip():
        raise Invalid("must not start or end with spaces")
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
    text = _text(value)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in text:
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

    @property
    def form_key(self) -> Optional[str]:
        return None if self.change is Change.LOCAL else self.name

    def live(self, record: ImageRecord) -> Any:
        """The value the API reports for this input (None: not reported by that view)."""
        return None if self.change is Change.LOCAL else getattr(record, self.name)

    def same(self, old: Any, new: Any) -> bool:
        """Equal for diff purposes; the API capitalises some values it lists back."""
        if self.ignore_case and isinstance(old, str) and isinstance(new, str):
            return old.casefold() == new.casefold()
        return bool(old == new)


INPUTS: tuple[Field, ...] = (
    Field(
        "image_name",
        Change.EDIT,
        _text,
        "Name of the image as shown in the panel.",
        required=True,
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
    ),
    Field(
        "min_disk",
        Change.EDIT,
        _whole(1),
        "Minimum instance disk in GB (whole number >= 1).",
        default=1,
        form=_whole_form,
    ),
    Field(
        "min_ram",
        Change.EDIT,
        _whole(1),
        "Minimum instance RAM in GB (whole number >= 1).",
        default=1,
        form=_whole_form,
    ),
    Field(
        "protected",
        Change.EDIT,
        _bool,
        "Blocks deletion while true (also blocks `pulumi destroy`).",
        default=False,
        form=_on_off,
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
    ),
    Field(
        "create_timeout",
        Change.LOCAL,
        _whole(1),
        "Seconds to wait for a new image to become Active before it is deleted and the create fails.",
        default=1800,
    ),
    Field(
        "adopt_image_id",
        Change.LOCAL,
        _digits,
        "Id of an existing image to take over instead of ordering a new one.",
    ),
)

BY_NAME: Mapping[str, Field] = {f.name: f for f in INPUTS}

# Outputs read from the API beside the inputs: output name -> ImageRecord attribute
# (`image_id` is the Pulumi id too).
OUTPUTS: Mapping[str, str] = {
    "image_id": "id",
    "status": "status",
    "image_size": "image_size",
    "cost": "cost",
    "visibility": "visibility",
    "fleio_id": "fleio_id",
    "created": "created",
}

def to_form(values: Mapping[str, Any], names: Optional[list[str]] = None) -> dict[str, str]:
    """Form fields for the named (default: all API) inputs present in `values`."""
    form: dict[str, str] = {}
    for f in INPUTS:
        if f.form_key is None or (names is not None and f.name not in names):
            continue
        value = values.get(f.name)
        if value is None:
            continue
        form[f.form_key] = f.form(value)
    return form


def edit_form(current: Any, wanted: Mapping[str, Any]) -> dict[str, str]:
    """The `image.edit` fields that bring `current` (an `ImageRecord` or earlier
    inputs) to `wanted`: every editable field that differs, and nothing else.
    A removed optional value is sent empty, which clears it."""

    def value(name: str) -> Any:
        if isinstance(current, ImageRecord):
            return BY_NAME[name].live(current)
        return current.get(name)

    changed = [
        f.name
        for f in INPUTS
        if f.change is Change.EDIT and not f.same(value(f.name), wanted.get(f.name))
    ]
    form = to_form(wanted, changed)
    for name in changed:
        form.setdefault(name, "")
    return form


def refreshed_inputs(record: ImageRecord, props: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs as the API reports them now, in the user's spelling where
    only letter case differs; what a view does not report is kept."""
    inputs: dict[str, Any] = {}
    for f in INPUTS:
        mine = props.get(f.name)
        live = f.live(record)
        if live is None or (mine is not None and f.same(mine, live)):
            if mine is not None:
                inputs[f.name] = mine
            elif f.default is not None and f.change is Change.LOCAL:
                inputs[f.name] = f.default
        else:
            inputs[f.name] = live
    return inputs


def outputs(record: ImageRecord, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Every input that has a value, plus the outputs read from the API."""
    outs = {f.name: inputs.get(f.name) for f in INPUTS if inputs.get(f.name) is not None}
    outs.update({name: getattr(record, attr) for name, attr in OUTPUTS.items()})
    return outs


def unadoptable(record: ImageRecord, props: Mapping[str, Any]) -> list[str]:
    """Why an existing image cannot be taken over: fields that would need a new image."""
    return [
        f"{f.name} is {f.live(record)!r} there but {props.get(f.name)!r} here"
        for f in INPUTS
        if f.change is Change.REPLACE
        and f.live(record) is not None
        and props.get(f.name) is not None
        and not f.same(f.live(record), props.get(f.name))
    ]


def check_inputs(
    given: Mapping[str, Any], unknown: Callable[[Any], bool]
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """(checked inputs with defaults filled in, [(property, what is wrong)]).

    Every problem is reported at once; values not known yet (`unknown`, in a
    preview) pass unchecked.  Output placeholders the resource registers (None,
    or not known yet in a preview) are not inputs and not errors.
    """
    inputs: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    allowed = ", ".join(f.name for f in INPUTS)
    for key, value in given.items():
        if key not in BY_NAME and not (key in OUTPUTS and (value is None or unknown(value))):
            problems.append((key, f"unknown property {key!r}; allowed: {allowed}"))
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
            inputs[f.name] = value
            continue
        try:
            inputs[f.name] = f.parse(value)
        except Invalid as exc:
            problems.append((f.name, f"{f.name} {exc}"))
    return inputs, problems


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
