"""Decoding the API's JSON quirks into ImageRecord."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zomro_pulumi.errors import DecodeError, ZomroError
from zomro_pulumi.fields import NAME_LIMIT
from zomro_pulumi.model import (
    DECODE_TABLE,
    LIST,
    ORDER_MARK_LENGTH,
    VIEW,
    ImageRecord,
    as_list,
    cut_token,
    keeps_tokens,
    name_with_token,
    to_bool,
    to_int,
    token_of,
    unwrap,
)

from .conftest import HELP_ELEMENT, element


def test_help_page_element_decodes_field_by_field() -> None:
    rec = ImageRecord.from_api(HELP_ELEMENT)
    assert rec is not None
    assert rec.id == "5206258"
    assert rec.image_name == "Ubuntu24"
    assert rec.region == "Netherlands-2"
    assert rec.disk_format == "iso"
    assert rec.architecture == "x86_64"
    assert rec.os_distro == "Ubuntu"  # capitalised by the API
    assert rec.os_version == "22"
    assert (rec.min_disk, rec.min_ram, rec.image_size) == (1, 1, 3)  # strings -> ints
    assert rec.protected is True  # from $orig "on", not the label "Enable"
    assert rec.pricelist == "6854"  # from pricelist_id, not the label "Image"
    assert rec.order_period == -50
    assert rec.status == "Active"
    assert rec.item_status == "2"  # $orig wins over the label
    assert rec.cost == "0.00 EUR / Day"
    assert rec.visibility == "Private"
    assert rec.fleio_id == "802c0ad6-c918-4769-8111-0a165a076ca4"
    assert rec.created == "2024-07-24"  # first of the repeated values
    assert rec.url is None  # the list does not carry the url
    assert rec.phase.value == "active"


def test_wrapped_value_shapes() -> None:
    assert unwrap({"$": "1"}) == "1"
    assert unwrap({"$orig": "on", "$": "Enable"}) == "on"
    assert unwrap({"$orig": "on", "$": "Enable"}, raw=False) == "Enable"
    assert unwrap([{"$": "a"}, {"$": "b"}]) == "a"
    assert unwrap({}) is None
    assert unwrap([]) is None
    assert unwrap(None) is None
    assert unwrap({"$": {"nested": 1}}) is None
    assert unwrap(True) is None
    assert unwrap(7) == "7"


def test_list_container_shapes() -> None:
    assert as_list(None) == []
    assert as_list({"id": {"$": "1"}}) == [{"id": {"$": "1"}}]
    assert as_list([1, 2]) == [1, 2]


def test_number_and_bool_parsing_is_defensive() -> None:
    assert to_int("3") == 3
    assert to_int(" 3.00 ") == 3
    assert to_int("3.5") is None
    assert to_int("three") is None
    assert to_int(None) is None
    assert to_bool("on") is True
    assert to_bool("Disable") is False
    assert to_bool("maybe") is None


def test_untrusted_garbage_decodes_to_none_not_crash() -> None:
    assert ImageRecord.from_api("nonsense") is None
    assert ImageRecord.from_api({"image_name": {"$": "x"}}) is None  # no id
    assert ImageRecord.from_api({"id": {}}) is None
    rec = ImageRecord.from_api({"id": {"$": "9"}, "min_disk": {"$": "lots"}, "protected": []})
    assert rec is not None and rec.min_disk is None and rec.protected is None


def test_empty_values_are_none() -> None:
    elem = element("1")
    elem["os_version"] = {}
    rec = ImageRecord.from_api(elem)
    assert rec is not None and rec.os_version is None


def test_states() -> None:
    def state(status: str) -> str:
        rec = ImageRecord.from_api(element("1", fleio_status=status))
        assert rec is not None
        return rec.phase.value

    assert state("Saving") == "pending"
    assert state("Active") == "active"
    assert state("Killed") == "failed"
    assert state("error") == "failed"
    assert state("Deleted") == "gone"
    assert state("queued") == "pending"


def test_merged_fills_gaps_from_the_other_view() -> None:
    listed = ImageRecord(id="1", image_name="a", cost="1 EUR")
    single = ImageRecord(id="1", image_name="b", url="https://x/y.iso")
    merged = listed.merged(single)
    assert (merged.image_name, merged.cost, merged.url) == ("a", "1 EUR", "https://x/y.iso")


def test_created_is_the_same_date_in_both_views() -> None:
    listed = ImageRecord.from_api(HELP_ELEMENT)
    single = ImageRecord.from_api({"elid": {"$": "5206258"}, "created": {"$": "2024-07-24 15:45:12"}})
    assert listed is not None and single is not None
    assert listed.created == single.created == "2024-07-24"


# --- the nastiest shapes the property tests turned up ------------------------------


@pytest.mark.parametrize(
    "value",
    [
        {"$": {"$": "1"}}, -5, {"$": "-5"}, "abc", True, {"$": True}, 5.0, {"$": "0"}, "0000",
        "1" * 21, pytest.param(10**5000, id="huge-int"),
        pytest.param({"$": 10**5000}, id="wrapped-huge-int"), "\u0663", "1_0",
        [{"$": [1]}], {"$orig": {}, "$": "x"},
    ],
)
def test_an_unusable_id_is_one_error_naming_the_field(value: object) -> None:
    with pytest.raises(DecodeError) as caught:
        ImageRecord.from_api({"id": value, "image_name": {"$": "x"}})
    assert isinstance(caught.value, ZomroError)
    assert "`id`" in str(caught.value) and len(str(caught.value)) < 300
    assert caught.value.__cause__ is None and caught.value.__context__ is None


def test_an_unusable_elid_is_named_as_elid() -> None:
    with pytest.raises(DecodeError, match="`elid`"):
        ImageRecord.from_api({"elid": {"$": "7a"}})


@pytest.mark.parametrize(
    "value", [None, {}, [], [{}], {"$": ""}, {"$": "  "}, {"$": []}, {"$color": "red"}]
)
def test_an_empty_id_means_no_id(value: object) -> None:
    assert ImageRecord.from_api({"id": value, "image_name": {"$": "x"}}) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [(7, "7"), (" 7 ", "7"), ({"$": " 7"}, "7"), ([{"$": "7"}, {"$": "junk"}], "7"),
     ([[{"$": "7"}]], "7"), ({"$orig": "", "$": "7"}, "7"), ("0070", "0070")],
)
def test_usable_id_shapes(value: object, expected: str) -> None:
    rec = ImageRecord.from_api({"id": value})
    assert rec is not None and rec.id == expected


def test_elid_is_used_when_id_is_empty() -> None:
    rec = ImageRecord.from_api({"id": {}, "elid": {"$": "8"}})
    assert rec is not None and rec.id == "8"


def test_deep_nesting_does_not_overflow_the_stack() -> None:
    deep: object = {"$": "1"}
    for _ in range(100_000):
        deep = [deep]
    assert unwrap(deep) == "1"
    rec = ImageRecord.from_api({"id": deep, "min_disk": deep, "protected": deep})
    assert rec is not None and (rec.id, rec.min_disk, rec.protected) == ("1", 1, True)


def test_values_python_would_parse_but_the_api_never_sends() -> None:
    for text in ("1_0", "\u0663", "1e3", "nan", "inf", "-inf", "0x10", "3.5", "", " ", "+"):
        assert to_int(text) is None, text
    assert [to_int(t) for t in ("+3", "-50", "3.", "3.000", "007")] == [3, -50, 3, 3, 7]
    assert to_int(str(2**53)) == 2**53
    assert to_int(str(2**53 + 1)) is None  # beyond what the state stores exactly
    assert to_int("9" * 5000) is None  # beyond Python's int-from-str limit
    assert to_int(True) is None and to_int(7) == 7 and to_int(10**5000) is None
    assert to_int({"$": "1"}) is None and to_int(1.0) is None


def test_bool_and_label_shapes() -> None:
    assert to_bool(True) is True and to_bool(5) is None and to_bool({"$": "on"}) is None
    assert unwrap({"$orig": True, "$": "Enable"}) == "Enable"  # a bool is not a raw value
    assert unwrap({"$orig": "  ", "$": "Enable"}) == "Enable"
    assert unwrap(10**5000) is None and unwrap({"$": 10**5000}) is None
    assert unwrap(float("nan")) == "nan"  # text; to_int refuses it


def test_blank_and_non_ascii_values() -> None:
    rec = ImageRecord.from_api(
        {"id": {"$": "9"}, "architecture": {"$": " "}, "image_name": {"$": "Zażółć"},
         "pricelist": {"$": "\u00b2"}, "created": {"$": "\u0662\u0660\u0662\u0664-07-24 10:00"},
         "min_ram": {"$": "\u0663"}, "image_size": {"$": 2**60}}
    )
    assert rec is not None
    assert rec.architecture is None and rec.image_name == "Zażółć"
    assert rec.pricelist is None and rec.min_ram is None and rec.image_size is None
    assert rec.created == "\u0662\u0660\u0662\u0664-07-24 10:00"  # not a date: kept whole


def test_each_attribute_takes_the_first_of_its_keys_that_decodes() -> None:
    rec = ImageRecord.from_api(
        {"id": {"$": "9"}, "period": {"$": "monthly"}, "order_period": {"$": "-50"},
         "pricelist_id": {}, "pricelist": {"$": "6854"}, "status_label": {"$": "Active"},
         "created": {"$": "2024-07-24 10:00:00"}}
    )
    assert rec is not None
    assert (rec.order_period, rec.pricelist, rec.status, rec.created) == (-50, "6854", "Active", "2024-07-24")
    labelled = ImageRecord.from_api({"id": {"$": "9"}, "pricelist": {"$": "Image"}})
    assert labelled is not None and labelled.pricelist is None  # a label is not an id


def test_the_table_says_which_answer_carries_what() -> None:
    views = {d.attr: d.views for d in DECODE_TABLE}
    assert views["url"] == {VIEW} and views["cost"] == {LIST} and views["image_name"] == {LIST, VIEW}


TOKENS = st.text("0123456789abcdef", min_size=16, max_size=16)
NAMES = st.text(min_size=1, max_size=NAME_LIMIT).filter(lambda n: n.strip() == n and n.strip())


@given(
    token=TOKENS,
    name=NAMES,
    cut=st.one_of(st.none(), st.integers(ORDER_MARK_LENGTH, 255)),
    case=st.sampled_from([str, str.upper, str.lower, str.casefold]),
    trim=st.booleans(),
)
def test_an_order_token_survives_what_an_api_may_do_to_a_stored_name(
    token: str, name: str, cut: int | None, case: object, trim: bool
) -> None:
    stored = name_with_token(name, token)
    stored = stored.strip() if trim else stored
    stored = case(stored)  # type: ignore[operator]
    stored = stored[:cut] if cut else stored
    assert token_of(stored) == token
    assert keeps_tokens(name_with_token(name, token), stored)


@given(token=TOKENS, name=NAMES, cut=st.integers(len("zp-"), ORDER_MARK_LENGTH - 1))
def test_a_name_cut_shorter_than_its_token_is_known_for_a_possible_cut(
    token: str, name: str, cut: int
) -> None:
    ordered = name_with_token(name, token)
    assert token_of(ordered[:cut]) is None and cut_token(ordered[:cut].upper())
    assert not keeps_tokens(ordered, ordered[:cut])


@pytest.mark.parametrize(
    "name",
    ["Ubuntu24", "zp-0123456789abcde-x", "x-zp-0123456789abcdef", "zp-0123456789abcdef0-x", ""],
)
def test_names_without_a_token_at_their_front_carry_none(name: str) -> None:
    assert token_of(name) is None


@pytest.mark.parametrize(
    ("name", "cut"),
    [("zp-0badcafe", True), ("ZP-0BAD ", True), ("zp-", True), ("zp-0123456789abcdef", False),
     ("zp-0123456789abcdef-x", False), ("zp-notahex", False), ("Ubuntu24", False), ("", False)],
)
def test_a_listed_name_that_is_an_order_token_cut_short_is_known(name: str, cut: bool) -> None:
    assert cut_token(name) is cut
