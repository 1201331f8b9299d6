"""Plain domain objects decoded from BILLmanager JSON.

The API wraps every value (`{"$": "1"}`), sometimes adds a raw value beside the
label (`{"$orig": "on", "$": "Enable"}`), repeats fields as lists, sends `{}` for
empty values and turns a one-item list into an object.  All of that is undone
here, once, so nothing else in the package has to know about it.

Answers are untrusted input, and the rule for what does not decode is:

* A value that cannot be decoded (wrong type, nested junk, blank text, a number
  that is not a whole number or is beyond 2**53, an on/off that is neither) is
  ``None``, i.e. absent, exactly as if the API had not sent the field.  The
  decoders (`unwrap`, `as_list`, `to_int`, `to_bool`) accept *any* JSON value
  and never raise.
* The image id (`id`, or `elid` in the single view) is the exception.  An
  element with no id at all (key missing, `null`, `{}`, `[]` or blank) is
  skipped: `ImageRecord.from_api` returns ``None``.  An id that is present but
  unusable (a dict inside `$`, zero, a negative, a fraction, a boolean,
  non-digits, more than 20 digits) raises one `DecodeError` naming the field.
  Skipping such an element instead would make its image look deleted, and the
  provider would then order a replacement for an image that still exists: a
  list that cannot be read in full is not a truth to act on.
"""

from __future__ import annotations

import dataclasses
import re
import reprlib
from collections.abc import Mapping
from typing import Any, Callable, Optional

from .errors import DecodeError
from .statuses import Phase, phase_of

# Whole numbers beyond this are not exact in a double, which is how the Pulumi
# state stores numbers; no image field comes anywhere near it.
MAX_WHOLE = 2**53
# BILLmanager ids are unsigned 64-bit integers: at most 20 digits.
MAX_ID_DIGITS = 20

_WHOLE = re.compile(r"\s*([+-]?)([0-9]+)(?:\.([0-9]*))?\s*", re.ASCII)
_ID = re.compile(r"[0-9]+", re.ASCII)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


class _ShortRepr(reprlib.Repr):
    """A bounded repr for error messages; ints too long for str() are described."""

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 256:
            return f"<{x.bit_length()}-bit integer>"
        return super().repr_int(x, level)


_short = _ShortRepr()
_short.maxstring = 60
_short.maxother = 60


def _scalar(value: Any) -> Optional[str]:
    """A JSON scalar as text; booleans and ints too long to print are not values."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        try:
            return str(value)
        except ValueError:  # an int beyond Python's digit limit for str()
            return None
    return None


def unwrap(value: Any, *, raw: bool = True) -> Optional[str]:
    """The string inside a wrapped value; `$orig` (the machine value) wins over
    the display label when `raw` is set.  Lists give their first item."""
    while isinstance(value, list):  # a loop, so no nesting depth can overflow the stack
        if not value:
            return None
        value = value[0]
    if isinstance(value, dict):
        if raw:
            orig = _scalar(value.get("$orig"))
            if orig and orig.strip():
                return orig
        return _scalar(value.get("$"))
    return _scalar(value)


def as_list(value: Any) -> list[Any]:
    """`doc.elem` may be a list, a single object, or missing altogether."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def to_int(value: Any) -> Optional[int]:
    """Whole numbers arrive as strings, sometimes as `"3.00"` or `" 3 "`; only
    ASCII digits count (Python's own parsing would also take `"1_0"` or `"٣"`)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        match = _WHOLE.fullmatch(value)
        if not match:
            return None
        sign, digits, fraction = match.groups()
        if fraction and fraction.strip("0"):
            return None
        digits = digits.lstrip("0") or "0"
        if len(digits) > 16:  # already far beyond MAX_WHOLE
            return None
        number = -int(digits) if sign == "-" else int(digits)
    else:
        return None
    return number if -MAX_WHOLE <= number <= MAX_WHOLE else None


def _date(value: Optional[str]) -> Optional[str]:
    """The list says `2024-07-24`, the single view `2024-07-24 15:45:12`: keep the date,
    so both views report the same `created` and a refresh rewrites nothing."""
    if value and _DATE.match(value):
        return value[:10]
    return value


def to_bool(value: Any) -> Optional[bool]:
    """`on`/`off` raw values; labels (`Enable`/`Disable`) as a fallback."""
    if isinstance(value, bool):
        return value
    if not isinstance(value, str):
        return None
    lowered = value.strip().lower()
    if lowered in {"on", "yes", "true", "1", "enable", "enabled"}:
        return True
    if lowered in {"off", "no", "false", "0", "disable", "disabled"}:
        return False
    return None


def _blank(value: Any) -> bool:
    return value is None or value == [] or value == {} or (
        isinstance(value, str) and not value.strip()
    )


def _is_empty(value: Any) -> bool:
    """BILLmanager's ways of saying "no value": null, `{}`, `[]`, blank, or a
    wrapper whose `$`/`$orig` is one of those (one level: deeper is junk)."""
    if isinstance(value, dict) and value:
        return _blank(value.get("$orig")) and _blank(value.get("$"))
    return _blank(value)


def _id_text(value: Any) -> Optional[str]:
    """A usable image id in a wrapped value, or None: ASCII digits, not all
    zeros, at most `MAX_ID_DIGITS` of them."""
    text = unwrap(value)
    if text is None:
        return None
    text = text.strip()
    if _ID.fullmatch(text) and len(text) <= MAX_ID_DIGITS and text.strip("0"):
        return text
    return None


def decode_id(elem: dict[str, Any], key: str) -> Optional[str]:
    """The image id under `key`: None when absent, DecodeError when unusable."""
    value = elem.get(key)
    while isinstance(value, list) and value:  # the first of repeated values, as unwrap
        value = value[0]
    if _is_empty(value):
        return None
    text = _id_text(value)
    if text is not None:
        return text
    raise DecodeError(
        f"the API sent an unusable image id in `{key}`: {_short.repr(elem.get(key))} "
        "(a positive whole number is expected)"
    )


# --- the decode table: which answer keys feed which record attribute, and how ------


def _text(value: Any) -> Optional[str]:
    text = unwrap(value)
    return text if text is not None and text.strip() else None


def _label(value: Any) -> Optional[str]:
    """The display label (`$`), not the raw value: what a person reads, e.g. a cost."""
    text = unwrap(value, raw=False)
    return text if text is not None and text.strip() else None


def _whole(value: Any) -> Optional[int]:
    return to_int(_text(value))


def _flag(value: Any) -> Optional[bool]:
    return to_bool(_text(value))


def _digits(value: Any) -> Optional[str]:
    """An id given as digits (`pricelist_id`); a label such as "Image" is not one."""
    text = _text(value)
    return text.strip() if text is not None and _ID.fullmatch(text.strip()) else None


def _day(value: Any) -> Optional[str]:
    return _date(_text(value))


LIST = "list"
VIEW = "view"
BOTH = frozenset({LIST, VIEW})


@dataclasses.dataclass(frozen=True)
class Decoded:
    """One `ImageRecord` attribute: the answer keys it is read from (the first
    that decodes wins), its decoder, and which answers are expected to carry it
    (`views`: the list, `image`, and/or the single view, `image.edit` without
    `sok`; decoding reads every key whatever the answer, doctor checks these).

    `from_api` reads every attribute through this table, and `zomro-pulumi doctor`
    checks a real account's answers against the same table, so what doctor
    reports is what the provider reads.
    """

    attr: str
    keys: tuple[str, ...]
    decode: Callable[[Any], Any]
    views: frozenset[str] = BOTH

    def read(self, elem: Mapping[str, Any]) -> Any:
        for key in self.keys:
            value = self.decode(elem.get(key))
            if value is not None:
                return value
        return None


#: The image id: `id` in the list, `elid` in the single view; unlike the other
#: attributes an unusable id is an error (`decode_id`), not an absence.
ID = Decoded("id", ("id", "elid"), _id_text)

#: Every attribute of `ImageRecord`, in the order of its fields.
DECODE_TABLE: tuple[Decoded, ...] = (
    ID,
    Decoded("image_name", ("image_name",), _text),
    Decoded("region", ("region",), _text),
    Decoded("url", ("url",), _text, frozenset({VIEW})),
    Decoded("disk_format", ("disk_format",), _text),
    Decoded("os_distro", ("os_distro",), _text),
    Decoded("os_version", ("os_version",), _text),
    Decoded("architecture", ("architecture",), _text),
    Decoded("min_disk", ("min_disk",), _whole),
    Decoded("min_ram", ("min_ram",), _whole),
    Decoded("protected", ("protected",), _flag),
    # `pricelist` is a label in the list ("Image") and the id in forms;
    # `pricelist_id` is the id when present.
    Decoded("pricelist", ("pricelist_id", "pricelist"), _digits, frozenset({LIST})),
    Decoded("order_period", ("period", "order_period"), _whole, frozenset({LIST})),
    Decoded("status", ("fleio_status", "status_label"), _text),
    Decoded("item_status", ("item_status",), _text, frozenset({LIST})),
    Decoded("image_size", ("image_size",), _whole),
    Decoded("cost", ("cost",), _label, frozenset({LIST})),
    Decoded("visibility", ("visibility",), _text, frozenset({LIST})),
    Decoded("fleio_id", ("fleio_id",), _text),
    Decoded("created", ("createdate", "created"), _day),
)


@dataclasses.dataclass(frozen=True)
class ImageRecord:
    """One image as the API reports it, decoded into plain Python values.

    Built from a list element (`func=image`) or from the single-image view
    (`func=image.edit` without `sok`); fields a view does not carry are None
    (the list has no `url`; the single view has no `cost`).
    """

    id: str
    image_name: Optional[str] = None
    region: Optional[str] = None
    url: Optional[str] = None
    disk_format: Optional[str] = None
    os_distro: Optional[str] = None
    os_version: Optional[str] = None
    architecture: Optional[str] = None
    min_disk: Optional[int] = None
    min_ram: Optional[int] = None
    protected: Optional[bool] = None
    pricelist: Optional[str] = None
    order_period: Optional[int] = None
    status: Optional[str] = None
    item_status: Optional[str] = None
    image_size: Optional[int] = None
    cost: Optional[str] = None
    visibility: Optional[str] = None
    fleio_id: Optional[str] = None
    created: Optional[str] = None

    @classmethod
    def from_api(cls, elem: Any) -> Optional[ImageRecord]:
        """Decode one element; None when it has no id, DecodeError when its id
        is unusable (see the module docstring)."""
        if not isinstance(elem, dict):
            return None
        # Lazily, so a usable `id` leaves `elid` unexamined.
        image_id = next(filter(None, (decode_id(elem, key) for key in ID.keys)), None)
        if image_id is None:
            return None
        values = {d.attr: d.read(elem) for d in DECODE_TABLE if d is not ID}
        return cls(id=image_id, **values)

    def merged(self, other: ImageRecord) -> ImageRecord:
        """Fill this record's gaps from another view of the same image."""
        values = {
            f.name: getattr(self, f.name)
            if getattr(self, f.name) is not None
            else getattr(other, f.name)
            for f in dataclasses.fields(self)
        }
        return ImageRecord(**values)

    @property
    def phase(self) -> Phase:
        """Active, pending, failed or gone, from whichever status field is present."""
        return phase_of(self.status, self.item_status)


# --- order tokens in names -------------------------------------------------------------
#
# A new image is ordered as "zp-<16 hex digits>-<its name>" and renamed once Active.
# The token sits at the front, in an alphabet that case folding maps onto itself
# (hex digits, "zp-"), with no blank in it: an API that stores names cut to any
# length from ORDER_MARK_LENGTH on, upper- or lower-cased, or with surrounding
# blanks trimmed, still stores a name that starts with the token.

ORDER_PREFIX = "zp-"
TOKEN_DIGITS = 16
#: Characters of an ordered name that carry its token ("zp-" and the digits).
ORDER_MARK_LENGTH = len(ORDER_PREFIX) + TOKEN_DIGITS
_CARRIED = re.compile(r"\s*zp-([0-9a-f]{16})(?![0-9a-f])", re.IGNORECASE | re.ASCII)


def name_with_token(name: str, token: str) -> str:
    """The name an order carries until its image is Active."""
    return f"{ORDER_PREFIX}{token}-{name}"


def token_of(name: Optional[str]) -> Optional[str]:
    """The order token a stored name carries, in lower case, however the API
    stored the name (cut, case-folded, trimmed); None when it carries none."""
    if not name:
        return None
    found = _CARRIED.match(name)
    return found.group(1).lower() if found else None


def _folded(name: str) -> str:
    return name.strip().casefold()


_CUT_TOKEN = re.compile(r"zp-[0-9a-f]{0,15}", re.IGNORECASE | re.ASCII)


def cut_token(listed: Optional[str]) -> bool:
    """Whether a listed name is an order's name cut shorter than its token (this
    order's, or a leftover of any other): the API cuts names below what a token
    survives, and no list can show a token then."""
    return bool(listed) and _CUT_TOKEN.fullmatch(_folded(listed or "")) is not None


def keeps_tokens(sent: str, listed: Optional[str]) -> bool:
    """Whether the way the API stored `sent` (as `listed`) would leave an order
    token at the front of a name recognisable: stored as sent, case-folded,
    trimmed, or cut no shorter than a token."""
    if listed is None:
        return True
    stored, wanted = _folded(listed), _folded(sent)
    if stored == wanted:
        return True
    return len(stored) >= ORDER_MARK_LENGTH and wanted.startswith(stored)


def selected(
    records: list[ImageRecord], region: Optional[str] = None, image_name: Optional[str] = None
) -> list[ImageRecord]:
    """The records of a lookup: in `region` (any letter case) and of exactly
    `image_name`, each filter applying when given."""
    return [
        r
        for r in records
        if (region is None or (r.region or "").casefold() == region.casefold())
        and (image_name is None or r.image_name == image_name)
    ]
