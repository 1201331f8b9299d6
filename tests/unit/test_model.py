"""Decoding the API's JSON quirks into ImageRecord."""

from __future__ import annotations

from zomro_pulumi.model import ImageRecord, as_list, to_bool, to_int, unwrap

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
