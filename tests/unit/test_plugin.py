"""The provider plugin's mapping against the fake API: schema names in and out,
numbers as floats, values not known yet, the detailed diff with the replace
kind, and the same operations as the dynamic provider underneath."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pulumi.provider.experimental.property_value import PropertyValue
from pulumi.provider.experimental.provider import (
    CheckRequest,
    ConfigureRequest,
    CreateRequest,
    DeleteRequest,
    DiffRequest,
    PropertyDiffKind,
    ReadRequest,
    UpdateRequest,
)

from zomro_pulumi import fields, plugin, schema
from zomro_pulumi.clock import FakeClock

from .conftest import ORDER, VALID, FakeApi

URN = "urn:pulumi:dev::p::zomro:index:Image::img"


def props(values: dict[str, Any]) -> dict[str, PropertyValue]:
    return plugin.props_of(values)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


@pytest.fixture
def served(api: FakeApi, clock: FakeClock) -> plugin.ZomroProvider:
    provider = plugin.ZomroProvider(clock=clock)
    run(provider.configure(ConfigureRequest({}, {}, True, True)))
    return provider


def test_camel_case_properties_in_and_out_and_numbers_as_floats(served: plugin.ZomroProvider, api: FakeApi) -> None:
    checked = run(served.check(CheckRequest(URN, {}, props(VALID), b"")))
    assert checked.failures == []
    assert checked.inputs["imageName"] == PropertyValue("Ubuntu24")
    assert checked.inputs["minDisk"] == PropertyValue(1.0) and checked.inputs["protected"] == PropertyValue(False)

    created = run(served.create(CreateRequest(URN, checked.inputs, 0, False)))
    assert created.resource_id == "5206259" and len(api.forms(ORDER)) == 1
    assert created.properties["imageId"] == PropertyValue("5206259")
    assert created.properties["orderToken"].value and created.properties["imageSize"] == PropertyValue(3.0)

    read = run(served.read(ReadRequest(URN, "5206259", created.properties, checked.inputs)))
    assert read.resource_id == "5206259" and read.inputs["minRam"] == PropertyValue(1.0)

    news = props({**VALID, "min_ram": 2})
    diff = run(served.diff(DiffRequest(URN, "5206259", created.properties, news, [])))
    assert diff.changes and diff.replaces == []
    assert {k: v.kind for k, v in diff.detailed_diff.items()} == {"minRam": PropertyDiffKind.UPDATE}
    updated = run(served.update(UpdateRequest(URN, "5206259", created.properties, news, 0, [], False)))
    assert updated.properties["minRam"] == PropertyValue(2.0) and len(api.edits()) == 2  # rename, then this

    run(served.delete(DeleteRequest(URN, "5206259", updated.properties, 0)))
    assert api.images == {}


def test_a_replacing_input_is_marked_with_the_replace_kind_and_named_on_the_row(
    served: plugin.ZomroProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    said: list[tuple[str, object]] = []
    monkeypatch.setattr(plugin._engine, "log", lambda message, urn, **_: said.append((message, urn)))
    olds = props({**VALID, "image_id": "5206259", "status": "Active"})
    news = props({**VALID, "region": "Germany-1", "min_ram": 2})
    diff = run(served.diff(DiffRequest(URN, "5206259", olds, news, [])))
    assert diff.replaces == ["region"]
    assert diff.detailed_diff["region"].kind is PropertyDiffKind.UPDATE_REPLACE
    assert diff.detailed_diff["minRam"].kind is PropertyDiffKind.UPDATE
    # The CLI's text shows both changes alike; the row says which forces the new image.
    assert said == [(
        "image 5206259 (Ubuntu24) is replaced: region cannot change in place, so a new image is ordered "
        "and this one deleted; minRam alone would be an edit in place", URN,
    )]


def test_bad_input_fails_the_check_naming_the_schema_property(served: plugin.ZomroProvider, api: FakeApi) -> None:
    checked = run(served.check(CheckRequest(URN, {}, props({**VALID, "disk_format": "zip"}), b"")))
    (failure,) = checked.failures
    assert failure.property == "diskFormat"
    assert failure.reason == "diskFormat must be one of iso, ami, ari, aki, vhd, vmdk, raw, qcow2, vdi; got 'zip'"
    assert api.forms(ORDER) == []


def test_a_missing_input_is_named_as_the_program_writes_it(served: plugin.ZomroProvider) -> None:
    given = {k: v for k, v in VALID.items() if k != "os_distro"}
    (failure,) = run(served.check(CheckRequest(URN, {}, props(given), b""))).failures
    assert failure.property == "osDistro" and failure.reason.startswith("osDistro is required"), failure.reason


def test_errors_and_advice_name_inputs_as_the_program_writes_them(served: plugin.ZomroProvider, api: FakeApi) -> None:
    """The lifecycle words its errors for Python; through the plugin they read as
    a program on the schema writes its inputs."""
    checked = run(served.check(CheckRequest(URN, {}, props({**VALID, "adopt_image_id": "999"}), b"")))
    with pytest.raises(Exception) as raised:
        run(served.create(CreateRequest(URN, checked.inputs, 0, False)))
    assert str(raised.value) == "adoptImageId: image 999 does not exist in this Zomro account"
    assert api.forms(ORDER) == []


def test_respell_names_inputs_in_the_schema_spelling() -> None:
    said = (
        "take it over with adopt_image_id='5'; the create_timeout of 60s; image 'my_disk_format'; "
        "first set protected=False with region unchanged"
    )
    assert fields.respell(said, schema.camel) == (
        "take it over with adoptImageId: \"5\"; the createTimeout of 60s; image 'my_disk_format'; "
        "first set protected: false with region unchanged"
    )
    assert fields.respell(said, str) == said


def test_a_value_not_known_yet_passes_the_check_and_stays_unknown(served: plugin.ZomroProvider) -> None:
    given = {**props(VALID), "url": PropertyValue.computed()}
    checked = run(served.check(CheckRequest(URN, {}, given, b"")))
    assert checked.failures == []
    assert plugin.plain(checked.inputs["url"]) == plugin.UNKNOWN


def test_custom_timeouts_bound_the_create_as_create_timeout_does(
    served: plugin.ZomroProvider, api: FakeApi, clock: FakeClock
) -> None:
    api.lifecycle = ["Saving"] * 10_000  # never Active
    checked = run(served.check(CheckRequest(URN, {}, props(VALID), b"")))
    start = clock.monotonic()
    with pytest.raises(Exception, match=r"within (its )?8 ?s|8s"):
        run(served.create(CreateRequest(URN, checked.inputs, 8.0, False)))
    assert clock.monotonic() - start < 8 + 70  # within the bound plus one HTTP timeout


def test_check_config_keeps_credentials_secret_and_learns_the_providers_name(api: FakeApi, clock: FakeClock) -> None:
    provider = plugin.ZomroProvider(clock=clock)
    news = {"username": PropertyValue("alice"), "password": PropertyValue("s3cret-pass"),
            "endpoint": PropertyValue("https://api.example/")}
    staging = "urn:pulumi:dev::p::pulumi:providers:zomro::staging"
    checked = run(provider.check_config(CheckRequest(staging, {}, news, b"")))
    assert checked.inputs["password"].is_secret and not checked.inputs["username"].is_secret
    assert plugin.plain(checked.inputs["password"]) == "s3cret-pass"
    assert provider._place.provider == "staging"
    run(provider.check_config(CheckRequest("urn:pulumi:dev::p::pulumi:providers:zomro::default_0_1_0", {}, news, b"")))
    assert provider._place.provider is None
