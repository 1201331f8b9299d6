"""Create, read, update, delete and adopt through ImageProvider against the fake
API, configured as a Pulumi program configures it, on a fake clock."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any, Optional

import pytest
from pulumi.dynamic import dynamic as sdk_dynamic

from zomro_pulumi import ImageProvider, ZomroError
from zomro_pulumi.clock import FakeClock
from zomro_pulumi.errors import ImageCreateError, ImageCreateTimeout, ReportedError
from zomro_pulumi.provider import OPERATION_TIMEOUT

from .conftest import ENDPOINT, MISSING_SHAPES, ORDER, VALID, FakeApi, Hang, envelope_error, wrap

TEMPORARY = re.compile(r"^zp-[0-9a-f]{16}-Ubuntu24$")


@contextlib.contextmanager
def reported(cls: type[ZomroError] = ZomroError, match: Optional[str] = None) -> Iterator[list[ZomroError]]:
    """The provider's error as the engine gets it: a short line whose cause is
    the error itself (its message is what the user reads first)."""
    caught: list[ZomroError] = []
    with pytest.raises(ReportedError) as info:
        yield caught
    cause = info.value.__cause__
    assert isinstance(cause, cls), repr(cause)
    assert match is None or re.search(match, str(cause)), str(cause)
    caught.append(cause)


def configured(clock: FakeClock, config: dict[str, str]) -> ImageProvider:
    prov = ImageProvider(clock=clock)
    prov.configure(sdk_dynamic.ConfigureRequest(sdk_dynamic.Config(config, "demo")))
    return prov


# ---------------------------------------------------------------- check


def test_check_without_credentials_fails_naming_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZOMRO_AUTH_TOKEN")
    result = ImageProvider().check({}, {**VALID, "__provider": "b"})
    (failure,) = result.failures
    assert failure.property == "zomro:authToken" and "zomro:username" in failure.reason


def test_check_with_a_plain_http_endpoint_fails_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZOMRO_ENDPOINT", "http://api.zomro.com/")
    (failure,) = ImageProvider().check({}, {**VALID, "__provider": "b"}).failures
    assert failure.property == "zomro:endpoint" and "https" in failure.reason


def test_check_takes_credentials_from_the_stack_config_and_tries_them_once(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    monkeypatch.delenv("ZOMRO_AUTH_TOKEN")
    prov = configured(clock, {"zomro:username": "alice", "zomro:password": "s3cret-pass"})
    for name in ("a", "b", "c"):  # three images of one account: one login for the run
        assert prov.check({}, {**VALID, "image_name": name, "__provider": "b"}).failures == []
    assert api.funcs() == ["auth"]


def test_check_with_a_refused_password_fails_naming_the_setting(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    monkeypatch.delenv("ZOMRO_AUTH_TOKEN")
    prov = configured(clock, {"zomro:username": "alice", "zomro:password": "wrong-pass"})
    (failure,) = prov.check({}, {**VALID, "__provider": "b"}).failures
    assert failure.property == "zomro:password" and "stack config zomro:password" in failure.reason
    assert "Invalid username or password" in failure.reason and "wrong-pass" not in failure.reason
    prov.check({}, {**VALID, "__provider": "b"})
    assert api.funcs() == ["auth"]  # asked once, remembered for the run


def test_check_with_a_rejected_token_fails_naming_it(api: FakeApi, clock: FakeClock) -> None:
    api.tokens.clear()
    (failure,) = ImageProvider(clock=clock).check({}, {**VALID, "__provider": "b"}).failures
    assert failure.property == "zomro:authToken" and "environment ZOMRO_AUTH_TOKEN" in failure.reason
    assert "rejected" in failure.reason
    assert api.funcs() == ["whoami"]


def test_check_of_an_unknown_account_names_the_known_ones(
    api: FakeApi, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZOMRO_STAGING_AUTH_TOKEN", "tok-1")
    prov = configured(clock, {"zomro:accounts": '{"prod": {"authToken": "tok-1"}}'})
    (failure,) = prov.check({}, {**VALID, "account": "dev", "__provider": "b"}).failures
    assert failure.property == "account" and "prod" in failure.reason and "staging" in failure.reason
    assert api.calls == []


# ---------------------------------------------------------------- create


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
    assert TEMPORARY.match(order["image_name"])
    assert result.id == "5206259"
    outs = result.outs or {}
    assert outs["image_id"] == "5206259" and outs["status"] == "Active"
    assert outs["image_name"] == "Ubuntu24" and api.names() == ["Ubuntu24"]
    assert outs["cost"] == "0.00 EUR / Day" and outs["visibility"] == "Private"
    assert outs["fleio_id"] and outs["created"] == "2024-07-24" and outs["image_size"] == 3
    assert outs["os_distro"] == "ubuntu"  # the user's spelling is kept
    assert api.forms("image.delete") == []


def test_protected_image_is_ordered_unprotected_and_protected_once_active(
    api: FakeApi, provider: ImageProvider
) -> None:
    result = provider.create({**VALID, "protected": True})
    assert api.forms(ORDER)[0]["protected"] == "off"
    (edit,) = api.edits()
    assert (edit["elid"], edit["protected"], edit["image_name"]) == (result.id, "on", "Ubuntu24")
    assert (result.outs or {})["protected"] is True


def test_order_answer_without_id_finds_the_new_image_by_its_unique_name(
    api: FakeApi, provider: ImageProvider
) -> None:
    api.order_reply = "none"
    older = api.add_image(image_name="Ubuntu24", url="https://example.com/older.iso")
    result = provider.create(dict(VALID))
    assert result.id == "5206260" and result.id != older
    funcs = api.funcs()
    assert funcs.count(ORDER) == 1 and funcs[funcs.index(ORDER) + 1] == "image"
    assert sorted(api.names()) == ["Ubuntu24", "Ubuntu24"]


def test_every_create_orders_under_its_own_token(api: FakeApi, provider: ImageProvider) -> None:
    provider.create(dict(VALID))
    second = provider.create({**VALID, "image_name": "Debian12"})
    assert [o["image_name"][:3] + o["image_name"][19:] for o in api.forms(ORDER)] == [
        "zp--Ubuntu24", "zp--Debian12"
    ]
    assert (second.outs or {})["image_name"] == "Debian12"
    assert [e["image_name"] for e in api.edits()] == ["Ubuntu24", "Debian12"]


def test_lost_order_answer_finds_the_image_instead_of_ordering_twice(
    api: FakeApi, provider: ImageProvider
) -> None:
    def order_then_fail(data: dict[str, str]) -> tuple[int, str]:
        api.answer(ORDER, data)  # the order lands...
        return 502, "bad gateway"  # ...but its answer is lost

    api.queue(ORDER, order_then_fail)
    result = provider.create(dict(VALID))
    assert len(api.forms(ORDER)) == 1 and list(api.images) == [result.id]


def test_an_active_image_is_kept_when_its_finish_fails(
    api: FakeApi, provider: ImageProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    failures = {"lists": 0}

    def unlistable_once_active(data: dict[str, str]) -> Any:
        if "5206259" not in api.images:
            return None
        if failures["lists"] == 0:
            api.set_status("5206259", "Active")
        if failures["lists"] < 7:
            failures["lists"] += 1
            return 503, ""
        return None

    def edit_refused(data: dict[str, str]) -> Any:
        return envelope_error("value", "protected", "cannot change now") if data.get("sok") == "ok" else None

    api.lifecycle = ["Saving"]
    api.queue("image", *[unlistable_once_active] * 40)
    api.queue("image.edit", *[edit_refused] * 40)
    result = provider.create({**VALID, "protected": True})
    outs = result.outs or {}
    assert result.id == "5206259" and outs["status"] == "Active"
    assert outs["protected"] is False and TEMPORARY.match(outs["image_name"])
    assert failures["lists"] == 7
    assert api.forms("image.delete") == [] and list(api.images) == ["5206259"]
    err = capsys.readouterr().err
    assert "warning: image 5206259 is Active" in err and "pulumi up" in err


def test_images_like_the_new_one_are_left_alone_and_unnamed(
    api: FakeApi, provider: ImageProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    leftover = api.add_image(image_name="zp-00c0ffee00c0ffee-Ubuntu24", url=VALID["url"])
    twin = api.add_image(image_name="Ubuntu24", url=VALID["url"])
    result = provider.create(dict(VALID))
    assert result.id not in (leftover, twin) and {leftover, twin} <= set(api.images)
    err = capsys.readouterr().err
    assert leftover not in err and twin not in err


@pytest.mark.parametrize("status", ["Killed", "error", "deactivated", "Deleted"])
def test_failed_upload_is_deleted_and_the_error_names_id_status_and_cause(
    api: FakeApi, provider: ImageProvider, status: str
) -> None:
    api.lifecycle = ["Saving", status]
    with reported(ImageCreateError) as info:
        provider.create({**VALID, "protected": True})
    message = str(info[0])
    assert "5206259" in message and status in message and "deleted" in message
    assert api.images == {}
    assert [c["elid"] for c in api.forms("image.delete")] == ["5206259"]


def test_timeout_deletes_the_stuck_image(api: FakeApi, provider: ImageProvider, clock: FakeClock) -> None:
    api.lifecycle = ["Saving"]
    start = clock.monotonic()
    with reported(ImageCreateTimeout) as info:
        provider.create({**VALID, "create_timeout": 60})
    assert "create_timeout of 60s" in str(info[0]) and "'Saving'" in str(info[0])
    assert api.images == {}
    assert clock.monotonic() - start >= 60


def test_a_session_lost_while_waiting_names_the_image_and_how_to_recover(
    api: FakeApi, provider: ImageProvider
) -> None:
    api.lifecycle = ["Saving"]

    def expire(data: dict[str, str]) -> None:
        if "5206259" in api.images:
            api.tokens.clear()

    api.queue("image", *[expire] * 5)
    with reported(ImageCreateError) as info:
        provider.create(dict(VALID))
    message = str(info[0])
    assert message.count("zomro:authToken") == 1 and "for the same reason" in message
    assert "kept, not deleted" in message and "adopt_image_id='5206259'" in message
    assert "5206259" in api.images and api.forms("image.delete") == []


def test_status_checks_failing_past_the_timeout_report_a_timeout_not_a_vanished_image(
    api: FakeApi, provider: ImageProvider
) -> None:
    api.lifecycle = ["Saving"]
    lists = {"n": 0}

    def first_ok_then_lost(data: dict[str, str]) -> Any:
        if "5206259" not in api.images or api.forms("image.delete"):
            return None
        lists["n"] += 1
        return None if lists["n"] == 1 else (502, "bad gateway")

    api.queue("image", *[first_ok_then_lost] * 2000)
    with reported(ImageCreateTimeout) as info:
        provider.create({**VALID, "create_timeout": 30})
    message = str(info[0])
    assert "create_timeout of 30s" in message and "'Saving'" in message
    assert "disappeared" not in message
    assert [c["elid"] for c in api.forms("image.delete")] == ["5206259"]


# ---------------------------------------------------------------- read


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


@pytest.mark.parametrize("shape", MISSING_SHAPES)
def test_read_of_a_vanished_image_drops_it(api: FakeApi, provider: ImageProvider, shape: str) -> None:
    api.missing = shape
    assert provider.read("999999", dict(VALID)).id == ""


def test_a_lookup_of_an_id_not_in_the_account_fails_naming_it(api: FakeApi, provider: ImageProvider) -> None:
    with reported(ZomroError, match="Image.get: image 999999 is not in this Zomro account"):
        provider.read("999999", {"__provider": "blob"})  # Image.get sends no inputs


def test_a_list_that_contradicts_itself_changes_nothing_on_refresh(
    api: FakeApi, provider: ImageProvider
) -> None:
    image_id = api.add_image(image_name="Ubuntu24", url=VALID["url"])
    api.queue("image", {"doc": {"p_elems": wrap("3")}})
    with reported(ZomroError, match="3 images but its pages hold 0"):
        provider.read(image_id, dict(VALID))


@pytest.mark.parametrize("word", ["Deleting", "pending_delete", "deleted"])
def test_read_of_an_image_being_deleted_drops_it(api: FakeApi, provider: ImageProvider, word: str) -> None:
    image_id = api.add_image(image_name="x", url=VALID["url"], fleio_status=word)
    assert provider.read(image_id, dict(VALID)).id == ""


@pytest.mark.parametrize("shape", MISSING_SHAPES)
def test_read_of_a_listed_image_whose_view_fails_raises(
    api: FakeApi, provider: ImageProvider, shape: str
) -> None:
    image_id = api.add_image(image_name="x", url="https://example.com/x.qcow2")
    api.hidden.add(image_id)
    api.missing = shape
    with reported():
        provider.read(image_id, {"__provider": "blob"})


def test_get_by_id_reads_the_url_from_the_single_view(api: FakeApi, provider: ImageProvider) -> None:
    image_id = api.add_image(image_name="x", url="https://example.com/x.qcow2")
    result = provider.read(image_id, {"__provider": "blob"})
    assert result.id == image_id
    assert (result.outs or {})["url"] == "https://example.com/x.qcow2"
    assert (result.outs or {})["image_name"] == "x"


# ---------------------------------------------------------------- update


def test_update_sends_one_edit_with_only_the_changed_fields(api: FakeApi, provider: ImageProvider) -> None:
    image_id = api.add_image(image_name="Ubuntu24", url=VALID["url"])
    olds = {**VALID, "protected": True}
    news = {**olds, "image_name": "Ubuntu24-new", "min_ram": 3, "protected": False}
    result = provider.update(image_id, olds, news)
    (edit,) = api.edits()
    assert {k: v for k, v in edit.items() if k not in ("func", "out", "auth")} == {
        "sok": "ok", "elid": image_id, "image_name": "Ubuntu24-new", "min_ram": "3", "protected": "off",
    }
    outs = result.outs or {}
    assert outs["image_name"] == "Ubuntu24-new" and outs["min_ram"] == 3 and outs["protected"] is False


def test_removing_os_version_clears_it(api: FakeApi, provider: ImageProvider) -> None:
    image_id = api.add_image(image_name="Ubuntu24", url=VALID["url"])
    news = {k: v for k, v in VALID.items() if k != "os_version"}
    provider.update(image_id, dict(VALID), news)
    (edit,) = api.edits()
    assert edit["os_version"] == ""


def test_update_shows_the_fresh_view_over_a_shared_list_a_moment_old(
    api: FakeApi, provider: ImageProvider
) -> None:
    image_id = api.add_image(image_name="Ubuntu24", url=VALID["url"], fleio_status="Saving")
    assert (provider.read(image_id, dict(VALID)).outs or {})["status"] == "Saving"
    api.set_status(image_id, "Active")  # meanwhile; the shared list still says Saving
    outs = provider.update(image_id, dict(VALID), {**VALID, "min_ram": 2}).outs or {}
    assert outs["status"] == "Active" and outs["cost"] == "0.00 EUR / Day"


@pytest.mark.parametrize("shape", MISSING_SHAPES)
def test_update_of_a_vanished_image_says_so(api: FakeApi, provider: ImageProvider, shape: str) -> None:
    api.missing = shape
    with reported(ZomroError, match="no longer exists"):
        provider.update("999999", dict(VALID), {**VALID, "min_ram": 2})


# ---------------------------------------------------------------- delete


def test_delete_waits_until_gone(api: FakeApi, provider: ImageProvider) -> None:
    image_id = api.add_image(image_name="x", protected=False)
    provider.delete(image_id, {})
    assert api.images == {}
    # delete, then a list without it and the image's own view failing too
    assert api.funcs() == ["image.delete", "image", "image.edit"]


@pytest.mark.parametrize("shape", MISSING_SHAPES)
def test_delete_of_an_image_already_gone_succeeds(api: FakeApi, provider: ImageProvider, shape: str) -> None:
    api.missing = shape
    provider.delete("31337", {})
    assert set(api.funcs()) == {"image.delete", "image", "image.edit"}  # listed and viewed


@pytest.mark.parametrize("word", ["Deleting", "pending_delete", "deleted"])
def test_delete_of_an_image_being_deleted_succeeds(api: FakeApi, provider: ImageProvider, word: str) -> None:
    image_id = api.add_image(image_name="x", protected=True, fleio_status=word)
    provider.delete(image_id, {})
    assert api.edits() == []  # nothing unprotected


@pytest.mark.parametrize("shape", MISSING_SHAPES)
def test_delete_refused_for_a_listed_image_raises(api: FakeApi, provider: ImageProvider, shape: str) -> None:
    image_id = api.add_image(image_name="x", protected=False)
    api.hidden.add(image_id)
    api.missing = shape
    with reported():
        provider.delete(image_id, {})
    assert image_id in api.images


def test_a_protected_image_is_refused_and_the_advice_works_ordering_nothing(
    api: FakeApi, provider: ImageProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    image_id = api.add_image(image_name="x", protected=True)
    other = api.add_image(image_name="y", protected=True)
    with reported(ZomroError) as info:
        provider.delete(image_id, {})
    advice = f"ZOMRO_DELETE_PROTECTED={image_id}"
    assert advice in str(info[0]) and image_id in api.images
    monkeypatch.setenv(*advice.split("=", 1))  # followed literally
    provider.delete(image_id, {})
    assert image_id not in api.images and other in api.images
    assert api.forms(ORDER) == []
    with reported(ZomroError):
        provider.delete(other, {})  # the permission names one image only


def test_replacing_a_protected_image_is_refused_before_anything_is_ordered(
    api: FakeApi, provider: ImageProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    olds = {**VALID, "protected": True, "image_id": "5206259"}
    with reported(ZomroError) as info:
        provider.diff("5206259", olds, {**olds, "url": "https://example.com/new.iso"})
    message = str(info[0])
    assert "5206259" in message and "url" in message and "protected=False" in message
    assert "ZOMRO_DELETE_PROTECTED=5206259" in message
    assert api.calls == []
    in_place = provider.diff("5206259", olds, {**olds, "protected": False})
    assert in_place.changes and not in_place.replaces  # step one of the advice
    unprotected = {**olds, "protected": False}
    then = provider.diff("5206259", unprotected, {**unprotected, "url": "https://example.com/new.iso"})
    assert then.replaces == ["url"]  # step two
    monkeypatch.setenv("ZOMRO_DELETE_PROTECTED", "5206259")
    assert provider.diff("5206259", olds, {**olds, "url": "https://example.com/n.iso"}).replaces == ["url"]


# ---------------------------------------------------------------- adopt


def test_adopt_takes_over_and_edits_what_differs(api: FakeApi, provider: ImageProvider) -> None:
    image_id = api.add_image(image_name="Old", url=VALID["url"], protected=False, os_version="24")
    result = provider.create({**VALID, "adopt_image_id": image_id, "image_name": "Ubuntu24"})
    assert result.id == image_id
    assert api.forms(ORDER) == []
    (edit,) = api.edits()
    assert edit["image_name"] == "Ubuntu24" and "url" not in edit
    assert (result.outs or {})["image_name"] == "Ubuntu24"


def test_adopt_refuses_when_a_replacing_field_differs(api: FakeApi, provider: ImageProvider) -> None:
    image_id = api.add_image(image_name="Old", url="https://example.com/other.iso", disk_format="qcow2")
    with reported(ZomroError) as info:
        provider.create({**VALID, "adopt_image_id": image_id})
    assert "url" in str(info[0]) and "disk_format" in str(info[0])
    assert [c for c in api.calls if c.get("sok") == "ok"] == []


@pytest.mark.parametrize("shape", MISSING_SHAPES)
def test_adopt_of_a_missing_image(api: FakeApi, provider: ImageProvider, shape: str) -> None:
    api.missing = shape
    with reported(ZomroError, match="does not exist"):
        provider.create({**VALID, "adopt_image_id": "123"})
    assert api.forms(ORDER) == []


# ---------------------------------------------------------------- settings


def test_stack_config_is_used_for_the_calls(
    api: FakeApi, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ZOMRO_AUTH_TOKEN")
    monkeypatch.delenv("ZOMRO_ENDPOINT")
    prov = configured(
        clock, {"zomro:endpoint": ENDPOINT, "zomro:username": "alice", "zomro:password": "s3cret-pass"}
    )
    image_id = api.add_image(image_name="x", url=VALID["url"])
    assert prov.read(image_id, dict(VALID)).id == image_id
    assert api.funcs() == ["auth", "image"] and api.calls[0]["username"] == "alice"


@pytest.mark.parametrize("func", ["auth", "image"])
def test_refresh_and_destroy_against_a_hanging_api_end_within_their_bound(
    api: FakeApi, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, func: str
) -> None:
    """Whether the login or the list hangs: the operation's bound holds, plus the
    one HTTP timeout every bound allows, and never a retry past it."""
    monkeypatch.delenv("ZOMRO_AUTH_TOKEN")
    prov = configured(clock, {"zomro:username": "alice", "zomro:password": "s3cret-pass"})
    image_id = api.add_image(image_name="x", url=VALID["url"])
    api.queue(func, *[Hang()] * 20)
    for operation in (lambda: prov.read(image_id, dict(VALID)), lambda: prov.delete(image_id, {})):
        start = clock.monotonic()
        with reported():
            operation()
        assert clock.monotonic() - start <= OPERATION_TIMEOUT + 60


# ---------------------------------------------------------------- late doubles of an order


def late_double(api: FakeApi, state: dict[str, Any], **fields: Any) -> str:
    """An image the create's earlier, lost attempt made after the create returned."""
    token = state["order_token"]
    fields.setdefault("protected", False)
    return api.add_image(image_name=f"zp-{token}-{state['image_name']}", url=VALID["url"], **fields)


def test_the_order_token_is_kept_in_the_state(api: FakeApi, provider: ImageProvider) -> None:
    created = provider.create(dict(VALID))
    outs = created.outs or {}
    (order,) = api.forms(ORDER)
    assert order["image_name"] == f"zp-{outs['order_token']}-Ubuntu24"
    read = provider.read(created.id, outs)
    assert (read.outs or {})["order_token"] == outs["order_token"]
    updated = provider.update(created.id, outs, {**VALID, "min_ram": 2})
    assert (updated.outs or {})["order_token"] == outs["order_token"]


@pytest.mark.parametrize("operation", ["read", "update", "delete"])
def test_a_late_double_of_the_create_is_deleted_by_any_later_operation(
    api: FakeApi, provider: ImageProvider, operation: str, capsys: pytest.CaptureFixture[str]
) -> None:
    created = provider.create(dict(VALID))
    state = dict(created.outs or {})
    other = api.add_image(image_name="zp-0123456789abcdef-Ubuntu24", url=VALID["url"])
    double = late_double(api, state)
    if operation == "read":
        provider.read(created.id, state)
    elif operation == "update":
        provider.update(created.id, state, {**VALID, "min_ram": 2})
    else:
        provider.delete(created.id, state)
    assert [d["elid"] for d in api.forms("image.delete")][-1:] == [double]
    kept = {other} | ({created.id} if operation != "delete" else set())
    assert set(api.images) == kept
    err = capsys.readouterr().err
    assert double in err and state["order_token"] in err


def test_a_protected_late_double_is_named_not_deleted(
    api: FakeApi, provider: ImageProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    created = provider.create(dict(VALID))
    state = dict(created.outs or {})
    double = late_double(api, state, protected=True)
    provider.read(created.id, state)
    assert api.forms("image.delete") == [] and double in api.images
    err = capsys.readouterr().err
    assert f"warning: image {double} also carries order token {state['order_token']}" in err


def test_a_state_without_a_token_reads_and_updates_as_before(api: FakeApi, provider: ImageProvider) -> None:
    """A stack of an earlier release: no token, so no output appears from nowhere."""
    image_id = api.add_image(image_name="Ubuntu24", url=VALID["url"])
    api.add_image(image_name="zp-0123456789abcdef-Ubuntu24", url=VALID["url"])
    read = provider.read(image_id, dict(VALID))
    assert "order_token" not in (read.outs or {})
    updated = provider.update(image_id, dict(VALID), {**VALID, "min_ram": 2})
    assert "order_token" not in (updated.outs or {})
    assert api.forms("image.delete") == [] and len(api.images) == 2


def test_a_double_of_an_image_deleted_in_the_panel_goes_with_it(
    api: FakeApi, provider: ImageProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    created = provider.create(dict(VALID))
    state = dict(created.outs or {})
    double = late_double(api, state)
    del api.images[created.id]  # deleted in the panel
    assert provider.read(created.id, state).id == ""
    assert api.images == {} and double in capsys.readouterr().err


def test_a_failing_look_for_doubles_fails_no_update_and_says_so(
    api: FakeApi, provider: ImageProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    created = provider.create(dict(VALID))
    state = dict(created.outs or {})
    api.clock.advance(60)  # the create's list is old now
    api.queue("image", *[(502, "<html>bad gateway</html>")] * 50)
    updated = provider.update(created.id, state, {**VALID, "min_ram": 2})
    assert (updated.outs or {})["min_ram"] == 2
    err = capsys.readouterr().err
    assert f"could not look for other images carrying order token {state['order_token']}" in err


# ---------------------------------------------------------------- a list that hides images


def test_a_refresh_keeps_an_image_a_filtered_list_hides_and_says_so_once(
    api: FakeApi, provider: ImageProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    shown = api.add_image(image_name="Shown", url=VALID["url"])
    hidden = [api.add_image(image_name=f"Hidden{n}", url=VALID["url"]) for n in range(2)]
    api.filtered = {shown}
    for n, image_id in enumerate(hidden):
        result = provider.read(image_id, {**VALID, "image_name": f"Hidden{n}"})
        assert result.id == image_id
    assert [v["elid"] for v in api.views()] == hidden  # only the hidden ones are viewed
    assert capsys.readouterr().err.count("looks filtered") == 1


def test_a_lost_order_is_not_sent_again_once_the_list_is_known_to_hide_images(
    api: FakeApi, provider: ImageProvider
) -> None:
    hidden = api.add_image(image_name="Hidden", url=VALID["url"])
    api.filtered = set()
    provider.read(hidden, {**VALID, "image_name": "Hidden"})
    api.queue(ORDER, (502, "<html>bad gateway</html>"))
    with reported(ImageCreateError, match="hides images"):
        provider.create(dict(VALID))
    assert len(api.forms(ORDER)) == 1


def test_a_hidden_protected_image_is_not_taken_for_gone_by_a_delete(
    api: FakeApi, provider: ImageProvider
) -> None:
    image_id = api.add_image(image_name="Ubuntu24", url=VALID["url"], protected=True)
    api.filtered = set()
    with reported(ZomroError, match="protected"):
        provider.delete(image_id, dict(VALID))
    assert image_id in api.images


def test_a_delete_through_a_filtered_list_waits_until_the_image_is_gone(
    api: FakeApi, provider: ImageProvider
) -> None:
    image_id = api.add_image(image_name="Ubuntu24", url=VALID["url"], protected=False)
    api.filtered = set()
    provider.delete(image_id, dict(VALID))
    assert image_id not in api.images and [d["elid"] for d in api.forms("image.delete")] == [image_id]


def test_the_sdk_names_the_provider_relies_on_still_mean_what_it_expects(api: FakeApi, clock: FakeClock) -> None:
    """A secret input arrives wrapped and an input not known yet as the SDK's
    sentinel: the check unwraps the one and leaves the other for later, as the
    SDK's `rpc` helpers and `Unknown` promise today."""
    from pulumi.output import Unknown
    from pulumi.runtime import rpc

    prov = configured(clock, {"zomro:username": "alice", "zomro:password": "s3cret-pass"})
    secret_url = {rpc._special_sig_key: rpc._special_secret_sig, "value": VALID["url"]}
    result = prov.check({}, {**VALID, "url": secret_url, "image_name": rpc.UNKNOWN, "__provider": "b"})
    assert [f.reason for f in result.failures] == [] and result.inputs["url"] == VALID["url"]
    assert result.inputs["image_name"] == rpc.UNKNOWN
    assert prov.check({}, {**VALID, "image_name": Unknown(), "__provider": "b"}).failures == []
