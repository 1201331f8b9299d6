"""check and diff: local validation and change classification from the field table."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from pulumi.output import Unknown

from zomro_pulumi import ImageProvider
from zomro_pulumi.fields import INPUTS, Change, ImageSpec

from .conftest import VALID

# The provider's check tries the account's credentials once: the fake API answers.
pytestmark = pytest.mark.usefixtures("api")


def check(**changes: Any) -> dict[str, str]:
    news = {**VALID, "__provider": "blob", **changes}
    news = {k: v for k, v in news.items() if v is not ...}
    result = ImageProvider().check({}, news)
    return {f.property: f.reason for f in result.failures}


def test_valid_inputs_pass_and_defaults_are_filled() -> None:
    news = {k: VALID[k] for k in ("image_name", "region", "url", "disk_format", "os_distro", "architecture")}
    result = ImageProvider().check({}, {**news, "__provider": "blob", "image_id": None, "status": None})
    assert result.failures == []
    assert result.inputs["min_disk"] == 1 and result.inputs["min_ram"] == 1
    assert result.inputs["protected"] is False and result.inputs["pricelist"] == "6854"
    assert result.inputs["order_period"] == -50 and result.inputs["create_timeout"] == 1800
    assert "image_id" not in result.inputs and "os_version" not in result.inputs


BAD_INPUTS = [
    ("disk_format", "docx", "iso, ami, ari, aki, vhd, vmdk, raw, qcow2, vdi"),
    ("disk_format", "ISO", "iso, ami"),
    ("disk_format", 3, "iso, ami"),
    ("architecture", "arm64", "x86_64, i686, ia64"),
    ("architecture", "", "x86_64, i686, ia64"),
    ("min_disk", -1, "at least 1"),
    ("min_disk", 0, "at least 1"),
    ("min_disk", 1.5, "whole number"),
    ("min_disk", "2", "whole number"),
    ("min_ram", True, "whole number"),
    ("min_ram", -3, "at least 1"),
    ("image_name", "", "empty"),
    ("image_name", "   ", "empty"),
    ("image_name", 42, "string"),
    ("os_distro", "", "empty"),
    ("region", "", "empty"),
    ("url", "not a url", "http"),
    ("url", "ftp://example.com/x.iso", "http"),
    ("url", "https://", "http"),
    ("protected", "yes", "true or false"),
    ("protected", 1, "true or false"),
    ("pricelist", "abc", "numeric id"),
    ("order_period", -30, "-50"),
    ("order_period", "monthly", "whole number"),
    ("create_timeout", 0, "at least 1"),
    ("adopt_image_id", "img-1", "numeric id"),
    ("image_name", "x" * 236, "at most 235 characters"),
    ("image_name", "x" * 1000, "20-character order token"),
    ("image_name", "two\nlines", "control characters"),
    ("image_name", "nul\x00", "control characters"),
    ("os_distro", "ubu\rntu", "control characters"),
    ("url", "https://example.com/" + "a" * 2100, "at most 2048"),
    ("account", "prod account", "account name"),
]


@pytest.mark.parametrize(("prop", "value", "allowed"), BAD_INPUTS)
def test_bad_value_names_the_property_and_what_is_allowed(prop: str, value: Any, allowed: str) -> None:
    failures = check(**{prop: value})
    assert set(failures) == {prop}
    assert prop in failures[prop] and allowed in failures[prop]


@pytest.mark.parametrize(
    "url",
    [
        "https://user:secret@example.com/a.iso",
        "ftp://user:secret@example.com/a b.iso",
        "https://user:secret@example.com/" + "a" * 2100,
    ],
)
def test_a_url_with_credentials_is_refused_without_echoing_it(url: str) -> None:
    """The engine prints the value of a failing property: this failure names no
    property, only its text does, and the text holds nothing of the url."""
    failures = check(url=url)
    assert set(failures) == {""}
    assert failures[""].startswith("url ") and "credentials" in failures[""]
    assert "secret" not in failures[""] and "example.com" not in failures[""]


@pytest.mark.parametrize("url", ["http://[::1/a.iso", "https://user:secret@[::1/a.iso"])
def test_a_url_that_cannot_be_parsed_is_refused_not_a_crash(url: str) -> None:
    failures = check(url=url)
    assert set(failures) == {""} and failures[""].startswith("url ") and "link" in failures[""]
    assert "secret" not in failures[""]


@pytest.mark.parametrize("prop", ["image_name", "region", "url", "disk_format", "os_distro", "architecture"])
def test_missing_required_property(prop: str) -> None:
    failures = check(**{prop: ...})
    assert prop in failures and "required" in failures[prop]


def test_unknown_keys_are_refused_with_the_allowed_list() -> None:
    failures = check(imagename="x", foo=1)
    assert set(failures) == {"imagename", "foo"}
    assert "unknown property 'imagename'" in failures["imagename"]
    assert "image_name" in failures["imagename"]


def test_every_problem_is_reported_at_once() -> None:
    assert set(check(min_disk=-1, disk_format="x", url="nope")) == {"min_disk", "disk_format", "url"}


def test_integral_floats_from_pulumi_are_whole_numbers() -> None:
    result = ImageProvider().check({}, {**VALID, "min_disk": 2.0, "__provider": "b"})
    assert result.failures == [] and result.inputs["min_disk"] == 2
    assert isinstance(result.inputs["min_disk"], int)


def test_unknown_values_in_preview_are_not_validated() -> None:
    result = ImageProvider().check({}, {**VALID, "image_name": Unknown(), "__provider": "b"})
    assert result.failures == [] and isinstance(result.inputs["image_name"], Unknown)


def diff(olds: dict[str, Any], **news: Any) -> tuple[bool, list[str]]:
    result = ImageProvider().diff("5206259", olds, {**olds, **news})
    return bool(result.changes), sorted(result.replaces or [])


STATE = {**VALID, "image_id": "5206259", "status": "Active", "cost": "0.00 EUR / Day", "__provider": "old"}


@pytest.mark.parametrize(
    ("prop", "value"),
    [("image_name", "Other"), ("min_disk", 5), ("min_ram", 2), ("os_distro", "debian"),
     ("os_version", "25"), ("architecture", "i686"), ("protected", True)],
)
def test_editable_fields_update_in_place(prop: str, value: Any) -> None:
    assert diff(STATE, **{prop: value}) == (True, [])


@pytest.mark.parametrize(
    ("prop", "value"),
    [("url", "https://example.com/other.iso"), ("disk_format", "qcow2"), ("region", "Netherlands-1"),
     ("pricelist", "7000")],
)
def test_replacing_fields_replace(prop: str, value: Any) -> None:
    assert diff(STATE, **{prop: value}) == (True, [prop])


def test_field_table_split_matches_the_reference() -> None:
    edit = {f.name for f in INPUTS if f.change is Change.EDIT}
    replace = {f.name for f in INPUTS if f.change is Change.REPLACE and f.sent}
    assert edit == {"image_name", "min_disk", "min_ram", "os_distro", "os_version", "architecture", "protected"}
    assert replace == {"url", "disk_format", "region", "pricelist", "order_period"}
    # which account holds the image is never sent, and changing it needs a new image
    assert [(f.name, f.change) for f in INPUTS if not f.sent] == [("account", Change.REPLACE)]


def test_no_diff_for_outputs_provider_blob_local_settings_or_case() -> None:
    news = {k: v for k, v in VALID.items()}
    news.update(__provider="new-blob", os_distro="UBUNTU", create_timeout=60)
    result = ImageProvider().diff("5206259", {**STATE, "os_distro": "Ubuntu", "status": "Saving"}, news)
    assert not result.changes and not result.replaces


def test_unknown_replacing_value_in_preview_means_replace() -> None:
    assert diff(STATE, url=Unknown()) == (True, ["url"])


def test_missing_default_in_old_state_is_not_a_change() -> None:
    olds = {k: v for k, v in STATE.items() if k != "min_ram"}
    olds["min_ram"] = 1
    assert diff(olds) == (False, [])


def test_numbers_arriving_as_floats_are_sent_as_whole_numbers() -> None:
    from zomro_pulumi.fields import to_form

    form = to_form({**VALID, "min_disk": 2.0, "min_ram": 1.0, "order_period": -50.0, "protected": True})
    assert (form["min_disk"], form["min_ram"], form["order_period"], form["protected"]) == ("2", "1", "-50", "on")
    assert "create_timeout" not in form and "adopt_image_id" not in form


def test_an_empty_optional_value_means_not_set() -> None:
    result = ImageProvider().check({}, {**VALID, "os_version": "", "__provider": "b"})
    assert result.failures == [] and "os_version" not in result.inputs


def test_image_spec_has_exactly_the_inputs_of_the_table() -> None:
    """A field added to INPUTS but not to ImageSpec (or the reverse) would be
    checked and then lost before the order: its attributes are the table's."""
    assert sorted(f.name for f in dataclasses.fields(ImageSpec)) == sorted(f.name for f in INPUTS)
