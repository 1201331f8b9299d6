"""Property tests: no API answer, however mangled, crashes the decoder.

Both shapes the client decodes (a list element as the help page shows it, and the
single view the emulator renders for `image.edit` without `sok`) are mutated the
ways a BILLmanager answer can go wrong.  Every result must be a record, None, or
one `ZomroError` naming the id field; never a bare Python exception.  A field
whose source keys were left alone must decode exactly as in the pristine answer.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zomro_pulumi.emulator.api import render_edit_view
from zomro_pulumi.emulator.state import StoredImage
from zomro_pulumi.errors import ZomroError
from zomro_pulumi.model import (
    DECODE_TABLE,
    MAX_WHOLE,
    ImageRecord,
    as_list,
    to_bool,
    to_int,
    unwrap,
)

from .conftest import HELP_ELEMENT

PROPERTY = settings(
    max_examples=500,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

EDIT_VIEW: dict[str, Any] = render_edit_view(
    StoredImage(
        id=5206259,
        owner="demo",
        image_name="Ubuntu24",
        region="Netherlands-2",
        url="https://releases.ubuntu.com/24.04/ubuntu-24.04-live-server-amd64.iso",
        disk_format="iso",
        os_distro="ubuntu",
        os_version="22",
        architecture="x86_64",
        min_disk=1,
        min_ram=1,
        protected=True,
        pricelist="6854",
        order_period="-50",
        fleio_id="802c0ad6-c918-4769-8111-0a165a076ca4",
        created=1721835912.0,
        updated=1721836000.0,
        saving_since=1721835912.0,
        settled="Active",
    )
)
BASES = {"list element": HELP_ELEMENT, "single view": EDIT_VIEW}
PRISTINE = {name: ImageRecord.from_api(base) for name, base in BASES.items()}

# Each record field and the answer keys it is decoded from: the decode table
# `ImageRecord.from_api` reads with (and `zomro-pulumi doctor` checks against).
SOURCES: dict[str, tuple[str, ...]] = {d.attr: d.keys for d in DECODE_TABLE}
DECODED_KEYS = sorted({key for keys in SOURCES.values() for key in keys})
FIELD_TYPES = typing.get_type_hints(ImageRecord)

DROP = object()


def test_the_decode_table_covers_every_record_field_once() -> None:
    attrs = [d.attr for d in DECODE_TABLE]
    assert attrs == [f.name for f in dataclasses.fields(ImageRecord)]
    assert all(d.keys and d.views for d in DECODE_TABLE)
    # every key of either real answer that feeds a field is in the table, so it is mutated
    for name, base in BASES.items():
        pristine = PRISTINE[name]
        assert pristine is not None
        for attr in attrs:
            if getattr(pristine, attr) is not None:
                assert set(SOURCES[attr]) & set(base), (name, attr)

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(),
    st.text(max_size=12),
    st.integers().map(str),
    st.sampled_from(
        ["", "  ", "0", "00", "-1", "3.00", " 3 ", "3.5", "1_0", "\u0663", "1e3", "nan",
         "inf", "on", "Enable", "off", "\u0662\u0660\u0662\u0664-07-24", "\u00b2", "Zażółć"]
    ),
)
_junk_keys = st.one_of(st.sampled_from(["$", "$orig", "$color", "$name"]), st.text(max_size=4))
junk = st.recursive(
    _scalars,
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(_junk_keys, kids, max_size=3),
    max_leaves=8,
)


@functools.cache
def mutations(base_name: str, key: str) -> st.SearchStrategy[Any]:
    """The ways one wrapped value of a real answer can arrive mangled."""
    value = BASES[base_name].get(key, {"$": "1"})
    inner = unwrap(value, raw=False) or "x"
    number = to_int(inner)
    return st.one_of(
        st.just(DROP),
        st.just(inner),  # bare value instead of {"$": x}
        st.just([value]),
        st.just([]),
        st.just([value, value]),
        junk.map(lambda j: [value, j]),
        junk.map(lambda j: [j, value]),
        st.just({}),
        st.none(),
        st.just({"$": {"$": "1"}}),
        st.just({"$": [value]}),
        junk.map(lambda j: {"$": j}),
        junk.map(lambda j: {"$orig": j, "$": inner}),
        st.booleans(),
        st.booleans().map(lambda b: {"$": b}),
        st.just({"$": number} if number is not None else {"$": 5}),  # string as number
        st.integers().map(lambda n: {"$": str(n)}),  # number as string
        st.integers(min_value=-(10**30), max_value=10**30).map(lambda n: {"$": n}),
        st.floats().map(lambda f: {"$": f}),
        st.text(max_size=12).map(lambda t: {"$": t}),  # non-ASCII and blanks
        junk,
    )


# Which keys to mangle: half the picks among the decoded ones, half among the rest.
KEY_CHOICES = {
    name: st.lists(
        st.one_of(st.sampled_from(DECODED_KEYS), st.sampled_from(sorted(base))),
        unique=True,
        max_size=10,
    )
    for name, base in BASES.items()
}
EXTRAS = st.dictionaries(st.text(max_size=6).map("extra:".__add__), junk, max_size=2)


@st.composite
def mutated_elements(draw: st.DrawFn) -> tuple[str, dict[str, Any], set[str]]:
    """A real answer shape with some keys mangled, dropped or added."""
    name = draw(st.sampled_from(sorted(BASES)))
    base = BASES[name]
    elem = dict(base)  # values are replaced, never changed in place
    keys = draw(KEY_CHOICES[name])
    for key in keys:
        mutated = draw(mutations(name, key))
        if mutated is DROP:
            elem.pop(key, None)
        else:
            elem[key] = mutated
    extras = draw(EXTRAS)
    elem.update(extras)
    return name, elem, set(keys)


def check_record(rec: ImageRecord) -> None:
    """Every decoded field has its declared type and a sane value."""
    assert rec.id.isascii() and rec.id.isdigit() and rec.id.strip("0")
    for field in dataclasses.fields(rec):
        value = getattr(rec, field.name)
        if value is None:
            continue
        expected = typing.get_args(FIELD_TYPES[field.name]) or (FIELD_TYPES[field.name],)
        assert type(value) in expected, (field.name, value)
        if isinstance(value, str):
            assert value.strip(), field.name  # blanks are None
        if type(value) is int:
            assert -MAX_WHOLE <= value <= MAX_WHOLE, field.name


def decode_or_error(elem: Any) -> tuple[ImageRecord | None, ZomroError | None]:
    try:
        return ImageRecord.from_api(elem), None
    except ZomroError as err:
        # One error, not a chain with a Python traceback inside.
        assert err.__cause__ is None and err.__context__ is None
        return None, err


@PROPERTY
@given(mutated_elements())
def test_any_mutation_decodes_or_names_the_id(case: tuple[str, dict[str, Any], set[str]]) -> None:
    name, elem, mutated = case
    rec, err = decode_or_error(elem)
    if err is not None:
        named = [key for key in ("id", "elid") if f"`{key}`" in str(err)]
        assert len(named) == 1 and named[0] in mutated, str(err)
        return
    if rec is None:
        assert mutated & {"id", "elid"}, "a record with an intact id was skipped"
        return
    check_record(rec)
    pristine = PRISTINE[name]
    assert pristine is not None
    for field, keys in SOURCES.items():
        if not mutated & set(keys):
            assert getattr(rec, field) == getattr(pristine, field), field


_any_keys = st.one_of(st.sampled_from([*DECODED_KEYS, "$", "$orig"]), st.text(max_size=4))
anything = st.recursive(
    _scalars,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(_any_keys, kids, max_size=6),
    max_leaves=15,
)


@PROPERTY
@given(anything)
def test_arbitrary_json_decodes_or_names_the_id(value: Any) -> None:
    rec, err = decode_or_error(value)
    if err is not None:
        assert "`id`" in str(err) or "`elid`" in str(err), str(err)
    elif rec is not None:
        check_record(rec)
    if not isinstance(value, dict):
        assert rec is None and err is None


@PROPERTY
@given(anything)
def test_the_small_decoders_take_any_value(value: Any) -> None:
    for raw in (True, False):
        text = unwrap(value, raw=raw)
        assert text is None or type(text) is str
        for decoded in (to_int(text), to_int(value)):
            assert decoded is None or (type(decoded) is int and abs(decoded) <= MAX_WHOLE)
        for flag in (to_bool(text), to_bool(value)):
            assert flag is None or type(flag) is bool
    listed = as_list(value)
    assert type(listed) is list
    assert listed == ([] if value is None else value if isinstance(value, list) else [value])


@PROPERTY
@given(st.integers(min_value=-MAX_WHOLE, max_value=MAX_WHOLE), st.sampled_from(["", ".", ".0", ".000"]))
def test_whole_numbers_round_trip(number: int, fraction: str) -> None:
    assert to_int(f" {number}{fraction} ") == number
    assert to_int({"$": str(number)}) is None  # a wrapper is unwrap's job, not to_int's
    assert to_int(unwrap({"$": f"{number}{fraction}"})) == number


@PROPERTY
@given(st.text(), st.text())
def test_wrapped_strings_come_back_unchanged(label: str, orig: str) -> None:
    assert unwrap({"$": label}) == label
    assert unwrap([{"$": label}, {"$": orig}]) == label
    expected = orig if orig.strip() else label
    assert unwrap({"$orig": orig, "$": label}) == expected
    assert unwrap({"$orig": orig, "$": label}, raw=False) == label
