"""Plain domain objects decoded from BILLmanager JSON.

The API wraps every value (`{"$": "1"}`), sometimes adds a raw value beside the
label (`{"$orig": "on", "$": "Enable"}`), repeats fields as lists, sends `{}` for
empty values and turns a one-item list into an object.  All of that is undone
here, once, so nothing else in the package has to know about it.  Answers are
untrusted input: anything malformed decodes to ``None`` rather than raising deep
inside a provider call.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Optional

from .statuses import Phase, phase_of


def unwrap(value: Any, *, raw: bool = True) -> Optional[str]:
    """The string inside a wrapped value; `$orig` (the machine value) wins over
    the display label when `raw` is set.  Lists give their first item."""
    if isinstance(value, list):
        return unwrap(value[0], raw=raw) if value else None
    if isinstance(value, dict):
        if raw and isinstance(value.get("$orig"), (str, int, float)):
            return str(value["$orig"])
        inner = value.get("$")
        return (
            str(inner)
            if isinstance(inner, (str, int, float)) and not isinstance(inner, bool)
            else None
        )
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def as_list(value: Any) -> list[Any]:
    """`doc.elem` may be a list, a single object, or missing altogether."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def to_int(value: Optional[str]) -> Optional[int]:
    """Whole numbers arrive as strings, sometimes as `"3.00"` or `" 3 "`."""
    if value is None:
        return None
    try:
        number = float(value.strip())
    except (ValueError, AttributeError):
        return None
    return int(number) if number.is_integer() else None


def _date(value: Optional[str]) -> Optional[str]:
    """The list says `2024-07-24`, the single view `2024-07-24 15:45:12`: keep the date,
    so both views report the same `created` and a refresh rewrites nothing."""
    if value and re.match(r"\d{4}-\d{2}-\d{2}", value):
        return value[:10]
    return value


def to_bool(value: Optional[str]) -> Optional[bool]:
    """`on`/`off` raw values; labels (`Enable`/`Disable`) as a fallback."""
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered in {"on", "yes", "true", "1", "enable", "enabled"}:
        return True
    if lowered in {"off", "no", "false", "0", "disable", "disabled"}:
        return False
    return None


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
        """Decode one element; None when it has no usable id."""
        if not isinstance(elem, dict):
            return None
        image_id = unwrap(elem.get("id")) or unwrap(elem.get("elid"))
        if not image_id or not image_id.strip():
            return None

        def text(key: str, raw: bool = True) -> Optional[str]:
            value = unwrap(elem.get(key), raw=raw)
            return value if value not in (None, "") else None

        # `pricelist` is a label in the list ("Image") and the id in forms;
        # `pricelist_id` is the id when present.
        pricelist = text("pricelist_id")
        if pricelist is None:
            candidate = text("pricelist")
            pricelist = candidate if candidate and candidate.isdigit() else None
        return cls(
            id=image_id.strip(),
            image_name=text("image_name"),
            region=text("region"),
            url=text("url"),
            disk_format=text("disk_format"),
            os_distro=text("os_distro"),
            os_version=text("os_version"),
            architecture=text("architecture"),
            min_disk=to_int(text("min_disk")),
            min_ram=to_int(text("min_ram")),
            protected=to_bool(text("protected")),
            pricelist=pricelist,
            order_period=to_int(text("period") or text("order_period")),
            status=text("fleio_status") or text("status_label"),
            item_status=text("item_status"),
            image_size=to_int(text("image_size")),
            cost=text("cost", raw=False),
            visibility=text("visibility"),
            fleio_id=text("fleio_id"),
            created=_date(text("createdate") or text("created")),
        )

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
