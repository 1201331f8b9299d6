"""`zomro-pulumi import`: the account's existing images as a Pulumi program.

What `pulumi import --out` and `terraform plan -generate-config-out` do for
their providers: every matching image becomes a `zomro.Image` with its current
values, taken over by id, so that `pulumi up` with the program orders nothing
and changes nothing.  Only reads: one image list, then one single view per
matching image (the url is only in that view).

The text is stable: no timestamps, images in the order of their ids, and each
resource named after its image (`Ubuntu 24` -> `ubuntu_24`); a name taken by an
older image gets the image id appended.

An image whose values the provider refuses as inputs (a name with a control
character, made in the panel) is left out with a comment saying why: declared,
it would fail the program's first `up` and take none of the images over.
"""

from __future__ import annotations

import fnmatch
import json
import keyword
import re
import textwrap
import unicodedata
from collections.abc import Sequence
from typing import Any, Optional

from .client import ZomroClient
from .fields import BY_NAME, INPUTS, check_inputs
from .model import ImageRecord
from .statuses import Phase

#: How each image is taken over: the `import_` resource option, or (while the
#: resource does not translate that option yet) the `adopt_image_id` input,
#: which does the same: nothing ordered, editable fields edited to match.
TAKE_OVER_WITH_IMPORT = True
# Names the program itself uses; a resource variable must not shadow them.
RESERVED = {"pulumi", "zomro"}
# Latin letters that Unicode does not decompose into a base letter and a mark.
_LETTERS = str.maketrans({"ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ø": "o", "Ø": "O", "ß": "ss"})


def matching(
    client: ZomroClient, *, region: Optional[str] = None, name: Optional[str] = None
) -> tuple[list[ImageRecord], list[ImageRecord]]:
    """(Active images that match, in id order; matching ones skipped for not being
    Active, since only an Active image can be taken over).  `name` may hold
    shell-style wildcards; `region` ignores letter case."""
    chosen: list[ImageRecord] = []
    skipped: list[ImageRecord] = []
    for record in sorted(client.list_images(max_age=0), key=lambda r: int(r.id)):
        if region is not None and (record.region or "").casefold() != region.casefold():
            continue
        if name is not None and not fnmatch.fnmatchcase(record.image_name or "", name):
            continue
        (chosen if record.phase is Phase.ACTIVE else skipped).append(record)
    return chosen, skipped


def viewed(client: ZomroClient, records: Sequence[ImageRecord]) -> list[ImageRecord]:
    """Each record completed by its single view (the url; the raw spelling of
    `os_distro`), the listed values filling what the view leaves out."""
    return [client.get_image(record.id).merged(record) for record in records]


def resource_names(records: Sequence[ImageRecord]) -> list[str]:
    """A valid, unique Python name per record, from its image name."""
    names: list[str] = []
    for record in records:
        text = unicodedata.normalize("NFKD", (record.image_name or "").translate(_LETTERS))
        ascii_name = text.encode("ascii", "ignore")
        base = re.sub(r"[^0-9a-z]+", "_", ascii_name.decode().lower()).strip("_") or "image"
        if base[0].isdigit():
            base = f"image_{base}"
        if keyword.iskeyword(base) or base in RESERVED:
            base = f"{base}_image"
        name = base
        while name in names:  # ids are unique, so this ends at once in practice
            name = f"{name}_{record.id}"
        names.append(name)
    return names


def refused(record: ImageRecord) -> list[str]:
    """Why the provider would refuse the values this image would be declared
    with (empty: none); values the API does not report are not reasons."""
    values = {f.name: f.live(record) for f in INPUTS if f.live(record) is not None}
    checked = check_inputs(values, lambda _value: False)
    return [
        printable(reason)
        for name, reason in checked.problems
        if not (name and values.get(name) is None)
    ]


def printable(text: str) -> str:
    """`text` with every character that does not print escaped: safe in a
    comment, a terminal or a log line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _literal(value: Any) -> str:
    """A Python literal for a value the API reported: text, a whole number or a
    flag.  Characters that do not print (line separators, lone surrogates) are
    escaped, so the text reads as what it is."""
    if isinstance(value, (bool, int)):
        return repr(value)
    text = json.dumps(str(value), ensure_ascii=False)
    return "".join(
        c if c.isprintable() else (f"\\u{ord(c):04x}" if ord(c) < 0x10000 else f"\\U{ord(c):08x}")
        for c in text
    )


def _resource(name: str, record: ImageRecord, account: Optional[str]) -> list[str]:
    lines = [f"{name} = zomro.Image(", f"    {json.dumps(name)},"]
    unknown = []
    for field in INPUTS:
        value = field.live(record)
        if value is not None:
            lines.append(f"    {field.name}={_literal(value)},")
        elif field.required:
            unknown.append(field.name)
    if account is not None and "account" in BY_NAME:
        lines.append(f"    account={_literal(account)},")
    if TAKE_OVER_WITH_IMPORT:
        lines.append(f"    opts=pulumi.ResourceOptions(import_={_literal(record.id)}),")
    else:
        lines.append(f"    adopt_image_id={_literal(record.id)},")
    if unknown:
        lines.insert(0, f"# Not reported by the API, to be filled in: {', '.join(unknown)}.")
    return [*lines, ")"]


def program(records: Sequence[ImageRecord], *, account: Optional[str], where: str) -> str:
    """The Pulumi program (`__main__.py`) declaring `records`."""
    how = "the `import_` option" if TAKE_OVER_WITH_IMPORT else "`adopt_image_id`"
    head = [
        '"""Zomro images as code, written by `zomro-pulumi import` from',
        f"{where}.",
        "",
        f"Each image is taken over by its id ({how}): `pulumi up`",
        "orders nothing and changes nothing while these values match the image.",
        "Edit them afterwards as those of any other `zomro.Image`.",
        '"""',
        "",
        *(["import pulumi"] if TAKE_OVER_WITH_IMPORT else []),
        "import zomro_pulumi as zomro",
    ]
    body: list[str] = []
    reasons = {record.id: refused(record) for record in records}
    kept = [record for record in records if not reasons[record.id]]
    for name, record in zip(resource_names(kept), kept):
        body += ["", *_resource(name, record, account)]
    for record in records:
        if reasons[record.id]:
            body += ["", *_left_out(record, reasons[record.id])]
    return "\n".join(head + body) + "\n"


def _left_out(record: ImageRecord, why: list[str]) -> list[str]:
    """The comment that stands for an image the provider would refuse."""
    name = record.image_name or ""
    shown = _literal(name if len(name) <= 40 else name[:40] + "…")
    reasons = [
        line
        for reason in why
        for line in textwrap.wrap(reason, 96, initial_indent="#   ", subsequent_indent="#     ")
    ]
    return [
        f"# Left out: image {record.id} ({shown}), whose values",
        "# the provider refuses as inputs:",
        *reasons,
        "# Declared, it would fail the first `pulumi up`. Change it in the Zomro panel",
        "# and run `zomro-pulumi import` again; until then no stack manages it.",
    ]
