"""An account label renamed in the config and the program: the same account,
so no replacement, nothing ordered or deleted; a label the config lost is
resolved by the image itself, or refused naming the ways out."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pulumi.dynamic import dynamic as sdk_dynamic

from zomro_pulumi import ImageProvider
from zomro_pulumi.clock import FakeClock
from zomro_pulumi.errors import ReportedError

from .conftest import ENDPOINT, ORDER, VALID, FakeApi

SAME = {"endpoint": ENDPOINT, "authToken": "tok-1"}


def provider_with(clock: FakeClock, monkeypatch: pytest.MonkeyPatch, **accounts: Any) -> ImageProvider:
    """A provider whose stack config holds these accounts and no default credentials."""
    monkeypatch.delenv("ZOMRO_AUTH_TOKEN")
    prov = ImageProvider(clock=clock)
    config = {"zomro:accounts": json.dumps(accounts)}
    prov.configure(sdk_dynamic.ConfigureRequest(sdk_dynamic.Config(config, "demo")))
    return prov


def state_of(api: FakeApi, account: str) -> tuple[str, dict[str, Any]]:
    image_id = api.add_image(image_name="Ubuntu24", url=VALID["url"], protected=False)
    return image_id, {**VALID, "account": account, "image_id": image_id, "status": "Active"}


def test_two_labels_of_one_endpoint_and_login_are_one_account(
    api: FakeApi, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    prov = provider_with(clock, monkeypatch, prod=SAME, production=dict(SAME))
    image_id, olds = state_of(api, "prod")
    diff = prov.diff(image_id, olds, {**VALID, "account": "production"})
    assert diff.changes and not diff.replaces
    assert api.calls == []  # decided from the config alone
    outs = prov.update(image_id, olds, {**VALID, "account": "production"}).outs or {}
    assert outs["account"] == "production" and outs["image_id"] == image_id
    assert api.forms(ORDER) == [] and api.edits() == [] and api.forms("image.delete") == []


def test_another_login_is_another_account_and_replaces(
    api: FakeApi, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = {"endpoint": ENDPOINT, "username": "alice", "password": "s3cret-pass"}
    prov = provider_with(clock, monkeypatch, prod=SAME, staging=other)
    image_id, olds = state_of(api, "prod")
    assert prov.diff(image_id, olds, {**VALID, "account": "staging"}).replaces == ["account"]


def test_a_label_renamed_in_the_config_is_found_by_the_image_and_follows_the_program(
    api: FakeApi, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    prov = provider_with(clock, monkeypatch, production=SAME)
    image_id, olds = state_of(api, "prod")
    diff = prov.diff(image_id, olds, {**VALID, "account": "production"})
    assert diff.changes and not diff.replaces
    assert api.funcs() == ["image"]  # one list of the configured account
    # a refresh before the `up` keeps the state's label and the image
    read = prov.read(image_id, olds)
    assert read.id == image_id and (read.outs or {})["account"] == "prod"
    outs = prov.update(image_id, olds, {**VALID, "account": "production"}).outs or {}
    assert outs["account"] == "production"
    assert api.forms(ORDER) == [] and api.edits() == [] and api.forms("image.delete") == []


def test_a_lost_label_whose_image_no_configured_account_shows_is_refused_at_preview(
    api: FakeApi, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    prov = provider_with(clock, monkeypatch, production=SAME)
    image_id, olds = state_of(api, "prod")
    del api.images[image_id]  # another login's image: neither listed nor viewable
    with pytest.raises(ReportedError) as info:
        prov.diff(image_id, olds, {**VALID, "account": "production"})
    said = str(info.value.__cause__)
    assert f"image {image_id} (Ubuntu24) is in account 'prod', which is not configured" in said
    assert "zomro:accounts.prod.endpoint" in said and "pulumi state delete" in said
    assert "nothing was ordered" in said and api.forms(ORDER) == []
    with pytest.raises(ReportedError) as gone:
        prov.delete(image_id, olds)
    assert "the deletion needs that account" in str(gone.value.__cause__)
    assert api.forms("image.delete") == []


def test_a_lost_label_is_resolved_for_a_destroy_and_a_replacement(
    api: FakeApi, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    prov = provider_with(clock, monkeypatch, production=SAME)
    image_id, olds = state_of(api, "prod")
    diff = prov.diff(image_id, olds, {**VALID, "account": "production", "region": "Germany-1"})
    assert diff.replaces == ["region"]
    prov.delete(image_id, olds)  # the replacement's old image, through the account holding it
    assert [f["elid"] for f in api.forms("image.delete")] == [image_id]



def test_default_settings_moved_under_a_named_account_are_one_account(
    api: FakeApi, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    prov = provider_with(clock, monkeypatch, prod=SAME)  # the default credentials are gone
    image_id, olds = state_of(api, "prod")
    del olds["account"]
    diff = prov.diff(image_id, olds, {**VALID, "account": "prod"})
    assert diff.changes and not diff.replaces and api.funcs() == ["image"]
    api.calls.clear()
    monkeypatch.setenv("ZOMRO_AUTH_TOKEN", "tok-1")  # the default kept: compared by settings
    prov.configure(sdk_dynamic.ConfigureRequest(sdk_dynamic.Config(
        {"zomro:accounts": json.dumps({"prod": SAME})}, "demo")))
    assert not prov.diff(image_id, olds, {**VALID, "account": "prod"}).replaces
    assert api.calls == []
