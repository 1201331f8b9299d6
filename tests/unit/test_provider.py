"""Create, read, update, delete and adopt through ImageProvider against the fake API."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from zomro_pulumi import ImageProvider, ZomroError
from zomro_pulumi.provider import ImageCreateError

from .conftest import VALID, FakeApi, envelope_error, wrap

ORDER = "v2.image.order.param"


def test_create_orders_once_with_the_documented_fields_and_waits_for_active(
    api: FakeApi, provider: ImageProvider
) -> None:
    api.lifecycle = ["Saving", "Saving", "Saving", "Active"]
    result = provider.create(dict(VALID))
    (order,) = api.forms(ORDER)
    assert set(order) == {
        "func", "out", "auth", "sok", "image_type", "skipbasket", "image_name", "region", "min_disk",
        "min_ram", "disk_format", "os_distro", "os_version", "architecture", "url", "protected",
        "pricelist", "order_period",
    }
    assert (order["sok"], order["skipbasket"], order["image_type"]) == ("ok", "on", "image")
    assert (order["protected"], order["order_period"], order["min_disk"]) == ("off", "-50", "1")
    assert result.id == "5206259"
    outs = result.outs or {}
    assert outs["image_id"] == "5206259" and outs["status"] == "Active"
    assert outs["cost"] == "0.00 EUR / Day" and outs["visibility"] == "Private"
    assert outs["fleio_id"] and outs["created"] == "2024-07-24" and outs["image_size"] == 3
    assert outs["os_distro"] == "ubuntu"  # the user's spelling is kept
    assert len(api.forms("image.edit")) == 4  # one status view per poll


def test_protected_image_is_ordered_unprotected_and_protected_once_active(
    api: FakeApi, provider: ImageProvider
) -> None:
    result = provider.create({**VALID, "protected": True})
    assert api.forms(ORDER)[0]["protected"] == "off"
    edits = [c for c in api.forms("image.edit") if c.get("sok") == "ok"]
    assert edits == [{**edits[0], "protected": "on", "elid": result.id}]
    assert (result.outs or {})["protected"] is True


def test_order_answer_without_id_finds_the_one_new_image_by_name(
    api: FakeApi, provider: ImageProvider
) -> None:
    api.order_returns_id = False
    api.add_image(image_name="Ubuntu24")  # an older image with the same name
    result = provider.create(dict(VALID))
    assert result.id == "5206260"
    assert api.funcs()[:3] == ["image", ORDER, "image"]


def test_lost_order_answer_finds_the_image_instead_of_ordering_twice(
    api: FakeApi, provider: ImageProvider
) -> None:
    def order_then_fail(data: dict) -> tuple[int, str]:
        api._answer(ORDER, data)  # the order lands...
        return 502, "bad gateway"  # ...but its answer is lost

    api.queue(ORDER, order_then_fail)
    result = provider.create(dict(VALID))
    assert len(api.forms(ORDER)) == 1 and len(api.images) == 1
    assert result.id in api.images


def test_lost_order_that_did_not_land_is_ordered_again_once(
    api: FakeApi, provider: ImageProvider
) -> None:
    api.queue(ORDER, requests.ConnectionError("dropped before processing"))
    result = provider.create(dict(VALID))
    assert len(api.forms(ORDER)) == 2 and list(api.images) == [result.id]


def test_two_new_images_with_the_name_is_an_error_not_a_guess(
    api: FakeApi, provider: ImageProvider
) -> None:
    api.order_returns_id = False

    def two_land(data: dict) -> dict:
        api._answer(ORDER, data)
        return api._answer(ORDER, data)

    api.queue(ORDER, two_land)
    with pytest.raises(ZomroError, match="several new images"):
        provider.create(dict(VALID))


@pytest.mark.parametrize("status", ["Killed", "error", "Deleted"])
def test_failed_upload_is_deleted_and_the_error_names_id_status_and_cause(
    api: FakeApi, provider: ImageProvider, status: str
) -> None:
    api.lifecycle = ["Saving", status]
    with pytest.raises(ImageCreateError) as info:
        provider.create({**VALID, "protected": True})
    message = str(info.value)
    assert "5206259" in message and status in message and "deleted" in message
    assert api.images == {}
    assert [c["elid"] for c in api.forms("image.delete")] == ["5206259"]


def test_timeout_deletes_the_stuck_image(api: FakeApi, provider: ImageProvider, monkeypatch: Any) -> None:
    api.lifecycle = ["Saving"] * 1000
    clock = iter(range(0, 100000, 7))
    monkeypatch.setattr("zomro_pulumi.provider.time.monotonic", lambda: float(next(clock)))
    with pytest.raises(ImageCreateError) as info:
        provider.create({**VALID, "create_timeout": 60})
    assert "create_timeout of 60s" in str(info.value) and "'Saving'" in str(info.value)
    assert api.images == {}


def test_cleanup_failure_is_reported_with_the_image_id(api: FakeApi, provider: ImageProvider) -> None:
    api.lifecycle = ["Saving", "Killed"]
    api.queue("image.delete", *[envelope_error("value", "other", "cannot delete now")] * 3)
    with pytest.raises(ImageCreateError) as info:
        provider.create(dict(VALID))
    assert "5206259" in str(info.value) and "Zomro panel" in str(info.value)


def test_read_refreshes_from_the_list_and_keeps_user_spelling(api: FakeApi, provider: ImageProvider) -> None:
    image_id = api.add_image(image_name="Ubuntu24", os_distro="Ubuntu", url=VALID["url"])
    api.images[image_id]["os_version"] = wrap("24")
    props = {**VALID, "protected": True, "image_id": image_id}
    result = provider.read(image_id, props)
    assert result.id == image_id
    assert result.inputs == {**VALID, "protected": True}
    assert api.funcs() == ["image"]  # the list only: url is known from state


def test_read_shows_drift(api: FakeApi, provider: ImageProvider) -> None:
    image_id = api.add_image(image_name="Renamed", min_ram="4", url=VALID["url"])
    result = provider.read(image_id, dict(VALID))
    assert result.inputs is not None
    assert result.inputs["image_name"] == "Renamed" and result.inputs["min_ram"] == 4
    assert (result.outs or {})["image_name"] == "Renamed"


def test_read_of_a_vanished_image_returns_an_empty_id(api: FakeApi, provider: ImageProvider) -> None:
    result = provider.read("999999", dict(VALID))
    assert result.id == ""


def test_get_by_id_reads_the_url_from_the_single_view(api: FakeApi, provider: ImageProvider) -> None:
    image_id = api.add_image(image_name="x", url="https://example.com/x.qcow2")
    result = provider.read(image_id, {"__provider": "blob"})
    assert result.id == image_id
    assert (result.outs or {})["url"] == "https://example.com/x.qcow2"
    assert (result.outs or {})["image_name"] == "x"


def test_update_sends_one_edit_with_only_the_changed_fields(api: FakeApi, provider: ImageProvider) -> None:
    image_id = api.add_image(image_name="Ubuntu24", url=VALID["url"])
    olds = {**VALID, "protected": True}
    news = {**olds, "image_name": "Ubuntu24-new", "min_ram": 3, "protected": False}
    result = provider.update(image_id, olds, news)
    (edit,) = [c for c in api.forms("image.edit") if c.get("sok") == "ok"]
    assert {k: v for k, v in edit.items() if k not in ("func", "out", "auth")} == {
        "sok": "ok", "elid": image_id, "image_name": "Ubuntu24-new", "min_ram": "3", "protected": "off",
    }
    outs = result.outs or {}
    assert outs["image_name"] == "Ubuntu24-new" and outs["min_ram"] == 3 and outs["protected"] is False


def test_removing_os_version_clears_it(api: FakeApi, provider: ImageProvider) -> None:
    image_id = api.add_image(image_name="Ubuntu24", url=VALID["url"])
    news = {k: v for k, v in VALID.items() if k != "os_version"}
    provider.update(image_id, dict(VALID), news)
    (edit,) = [c for c in api.forms("image.edit") if c.get("sok") == "ok"]
    assert edit["os_version"] == ""


def test_delete_waits_until_gone(api: FakeApi, provider: ImageProvider) -> None:
    image_id = api.add_image(image_name="x", protected=False)
    provider.delete(image_id, {})
    assert api.images == {}
    assert api.funcs() == ["image.delete", "image.edit"]  # delete, then a view that finds it gone


def test_delete_of_an_image_already_gone_succeeds(api: FakeApi, provider: ImageProvider) -> None:
    provider.delete("31337", {})
    assert api.funcs() == ["image.delete"]


def test_protected_image_is_refused_with_instructions(api: FakeApi, provider: ImageProvider) -> None:
    image_id = api.add_image(image_name="x", protected=True)
    with pytest.raises(ZomroError) as info:
        provider.delete(image_id, {})
    assert "protected=False" in str(info.value) and "pulumi up" in str(info.value)
    assert image_id in api.images


def test_adopt_takes_over_and_edits_what_differs(api: FakeApi, provider: ImageProvider) -> None:
    image_id = api.add_image(image_name="Old", url=VALID["url"], protected=False, os_version="24")
    result = provider.create({**VALID, "adopt_image_id": image_id, "image_name": "Ubuntu24"})
    assert result.id == image_id
    assert api.forms(ORDER) == []
    (edit,) = [c for c in api.forms("image.edit") if c.get("sok") == "ok"]
    assert edit["image_name"] == "Ubuntu24" and "url" not in edit
    assert (result.outs or {})["image_name"] == "Ubuntu24"


def test_adopt_refuses_when_a_replacing_field_differs(api: FakeApi, provider: ImageProvider) -> None:
    image_id = api.add_image(image_name="Old", url="https://example.com/other.iso", disk_format="qcow2")
    with pytest.raises(ZomroError) as info:
        provider.create({**VALID, "adopt_image_id": image_id})
    assert "url" in str(info.value) and "disk_format" in str(info.value)
    assert [c for c in api.calls if c.get("sok") == "ok"] == []


def test_adopt_of_a_missing_image(api: FakeApi, provider: ImageProvider) -> None:
    with pytest.raises(ZomroError, match="does not exist"):
        provider.create({**VALID, "adopt_image_id": "123"})


def test_a_stale_shared_list_never_overrides_the_fresh_view(api: FakeApi, provider: ImageProvider) -> None:
    api.lifecycle = ["Saving", "Active"]
    image_id = api.add_image(image_name="x", fleio_status="Saving")
    api.views[image_id] = 1
    client = provider._api()
    client.list_ttl = 60
    assert client.list_images()[0].status == "Saving"  # cached by another thread's read
    view = client.get_image(image_id)  # the image turned Active meanwhile
    assert view is not None and view.status == "Active"
    merged = provider._with_listing(view)
    assert merged.status == "Active" and merged.cost == "0.00 EUR / Day"


def test_a_session_lost_while_waiting_names_the_image_once_and_how_to_recover(
    api: FakeApi, provider: ImageProvider
) -> None:
    api.lifecycle = ["Saving"] * 10

    def expire(data: dict) -> None:
        api.tokens.clear()
        return None

    api.queue("image.edit", expire)
    with pytest.raises(ImageCreateError) as info:
        provider.create(dict(VALID))
    message = str(info.value)
    assert message.startswith("image 5206259 (Ubuntu24) did not become Active")
    assert "failed for the same reason" in message and message.count("zomro:authToken") == 1
    assert "delete image 5206259 in the Zomro panel" in message and "adopt_image_id='5206259'" in message
    assert "5206259" in api.images  # it could not be deleted: the error is the only trace


def test_status_checks_failing_past_the_timeout_report_a_timeout_not_a_vanished_image(
    api: FakeApi, provider: ImageProvider, monkeypatch: Any
) -> None:
    api.lifecycle = ["Saving"] * 1000
    clock = iter(range(0, 100000, 7))
    monkeypatch.setattr("zomro_pulumi.provider.time.monotonic", lambda: float(next(clock)))
    views = {"n": 0}

    def view_then_fail(data: dict) -> Any:
        views["n"] += 1
        return None if views["n"] == 1 else (502, "bad gateway")  # first view ok, then lost

    api.queue("image.edit", *[view_then_fail] * 200)
    provider._api()._retry = provider._api()._retry.new(total=0)
    with pytest.raises(ImageCreateError) as info:
        provider.create({**VALID, "create_timeout": 30})
    message = str(info.value)
    assert "create_timeout of 30s" in message and "'Saving'" in message
    assert "disappeared" not in message
    assert [c["elid"] for c in api.forms("image.delete")] == ["5206259"]
