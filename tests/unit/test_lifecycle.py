"""An image's life (order, identify, wait, finish, discard, delete, adopt)
against the fake API on a fake clock."""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Callable, Optional

import pytest

from zomro_pulumi import ZomroClient, ZomroError
from zomro_pulumi.clock import FakeClock
from zomro_pulumi.errors import ImageCreateError, ImageCreateTimeout, ProtectedImageError
from zomro_pulumi.fields import ImageSpec, spec_of
from zomro_pulumi.lifecycle import Created, ImageLifecycle
from zomro_pulumi.model import ImageRecord
from zomro_pulumi.poller import StatusPoller
from zomro_pulumi.statuses import STATUS_WORDS, Phase

from .conftest import MISSING_SHAPES, ORDER, ORDER_REPLIES, VALID, FakeApi, Hang, fast_client, wrap

TEMPORARY = re.compile(r"^zp-[0-9a-f]{16}-Ubuntu24$")
FAILED_WORDS = [s.word for s in STATUS_WORDS if s.phase is Phase.FAILED]
GONE_WORDS = [s.word for s in STATUS_WORDS if s.phase is Phase.GONE]


@dataclasses.dataclass
class Rig:
    api: FakeApi
    clock: FakeClock
    client: ZomroClient
    poller: StatusPoller
    said: list[str]
    images: ImageLifecycle

    def spec(self, **props: Any) -> ImageSpec:
        return spec_of({**VALID, **props})

    def create(self, **props: Any) -> Created:
        return self.images.create(self.spec(**props))

    def adopt(self, image_id: str, **props: Any) -> ImageRecord:
        return self.images.adopt(self.spec(adopt_image_id=image_id, **props))


@pytest.fixture
def rig(api: FakeApi, clock: FakeClock) -> Rig:
    client = fast_client(clock)
    poller = StatusPoller(client, clock=clock)
    said: list[str] = []
    return Rig(api, clock, client, poller, said, ImageLifecycle(client, poller, clock, said.append))


def lands_but_answer_lost(rig: Rig) -> Any:
    """An order the API makes, whose answer is then lost (a 502 from a proxy)."""

    def answer(data: dict[str, str]) -> tuple[int, str]:
        rig.api.answer(ORDER, data)
        return 502, "<html>bad gateway</html>"

    return answer


def never_made(data: dict[str, str]) -> tuple[int, str]:
    return 502, "<html>bad gateway</html>"


# ---------------------------------------------------------------- order and identify


@pytest.mark.parametrize("reply", ORDER_REPLIES)
def test_every_order_carries_its_own_token_and_is_renamed_once_active(rig: Rig, reply: str) -> None:
    rig.api.order_reply = reply
    first = rig.create()
    second = rig.create()  # the same name again: its own token, its own image
    names = [o["image_name"] for o in rig.api.forms(ORDER)]
    assert all(TEMPORARY.match(n) for n in names) and len(set(names)) == 2
    assert (first.record.id, second.record.id) == ("5206259", "5206260")
    assert first.record.image_name == second.record.image_name == "Ubuntu24"
    assert [(e["elid"], e["image_name"]) for e in rig.api.edits()] == [
        ("5206259", "Ubuntu24"), ("5206260", "Ubuntu24"),
    ]
    assert rig.api.names() == ["Ubuntu24", "Ubuntu24"]
    assert not any("warning" in line for line in rig.said)
    assert any(f"as {names[0]!r}" in line for line in rig.said)  # said before the order


def test_protected_is_set_with_the_rename_in_one_edit(rig: Rig) -> None:
    created = rig.create(protected=True)
    assert rig.api.forms(ORDER)[0]["protected"] == "off"
    (edit,) = rig.api.edits()
    assert (edit["image_name"], edit["protected"]) == ("Ubuntu24", "on")
    assert created.record.protected is True


@pytest.mark.parametrize("reply", ["id", "none"])
def test_a_lost_answer_is_found_by_its_token_and_never_ordered_again(rig: Rig, reply: str) -> None:
    rig.api.order_reply = reply
    rig.api.queue(ORDER, lands_but_answer_lost(rig))
    created = rig.create()
    assert len(rig.api.forms(ORDER)) == 1
    assert list(rig.api.images) == [created.record.id] and rig.api.names() == ["Ubuntu24"]


def test_an_order_proven_not_to_have_landed_is_sent_again_under_the_same_token(rig: Rig) -> None:
    rig.api.queue(ORDER, never_made)
    created = rig.create()
    first, second = rig.api.forms(ORDER)
    assert first["image_name"] == second["image_name"]  # the same token: a late double is known
    assert list(rig.api.images) == [created.record.id] and rig.api.names() == ["Ubuntu24"]
    assert any("did not land" in line for line in rig.said)


def test_without_a_complete_list_a_lost_order_is_never_sent_again(rig: Rig) -> None:
    """Lists that contradict themselves prove nothing: the order is not repeated,
    and when time runs out the error names the token to look for."""
    rig.api.queue(ORDER, never_made)

    def contradicting(data: dict[str, str]) -> Any:
        return {"doc": {"p_elems": wrap("1")}} if rig.api.forms(ORDER) else None

    rig.api.queue("image", *[contradicting] * 500)
    start = rig.clock.monotonic()
    with pytest.raises(ImageCreateError) as info:
        rig.create(create_timeout=120)
    (order,) = rig.api.forms(ORDER)
    message = str(info.value)
    assert order["image_name"] in message and "not ordered again" in message
    assert "adopt_image_id" in message and "Zomro panel" in message
    assert rig.api.images == {} and rig.api.forms("image.delete") == []
    assert rig.clock.monotonic() - start <= 120 + rig.client.tuning.timeout


def test_a_lost_order_is_not_sent_again_when_time_runs_out_first(rig: Rig) -> None:
    rig.api.queue(ORDER, never_made)
    with pytest.raises(ImageCreateError, match="not ordered again"):
        rig.create(create_timeout=10)  # shorter than the grace period
    assert len(rig.api.forms(ORDER)) == 1


def test_a_late_double_of_an_order_sent_twice_is_deleted(rig: Rig) -> None:
    lost: list[dict[str, str]] = []

    def answer_lost(data: dict[str, str]) -> tuple[int, str]:
        lost.append(data)  # lands only after the second attempt
        return 502, "<html>bad gateway</html>"

    def lands_with_the_late_one(data: dict[str, str]) -> Any:
        answer = rig.api.answer(ORDER, data)
        rig.api.answer(ORDER, lost[0])
        return answer

    rig.api.lifecycle = ["Saving", "Saving", "Saving", "Active"]
    rig.api.queue(ORDER, answer_lost, lands_with_the_late_one)
    created = rig.create()
    assert created.record.id == "5206259"
    assert [d["elid"] for d in rig.api.forms("image.delete")] == ["5206260"]
    assert list(rig.api.images) == ["5206259"]


def test_a_late_landing_of_a_lost_order_is_taken_by_its_token(rig: Rig) -> None:
    lost: list[dict[str, str]] = []

    def answer_lost(data: dict[str, str]) -> tuple[int, str]:
        lost.append(data)
        return 502, "<html>bad gateway</html>"

    lists = {"n": 0}

    def lands_on_the_third_list(data: dict[str, str]) -> Any:
        lists["n"] += 1
        if lists["n"] == 3:
            rig.api.answer(ORDER, lost[0])
        return None

    rig.api.queue(ORDER, answer_lost)
    rig.api.queue("image", *[lands_on_the_third_list] * 20)
    created = rig.create()
    assert len(rig.api.forms(ORDER)) == 1 and created.record.id == "5206259"
    assert rig.api.names() == ["Ubuntu24"]


def test_images_of_the_same_name_are_never_taken_for_a_lost_order(rig: Rig) -> None:
    """Images another create or another stack orders meanwhile, under the wanted
    name or under their own token, are not this order's: no proof."""
    rig.api.queue(ORDER, never_made)

    def others_order_meanwhile(data: dict[str, str]) -> Any:
        if len(rig.api.images) < 2:
            rig.api.add_image(image_name="Ubuntu24", url=VALID["url"], fleio_status="Active")
            rig.api.add_image(image_name="zp-00112233aabbccdd-Ubuntu24", url=VALID["url"])
        return None

    rig.api.queue("image", others_order_meanwhile)
    with pytest.raises(ImageCreateError, match="not ordered again"):
        rig.create(create_timeout=10)
    assert len(rig.api.images) == 2 and rig.api.edits() == []
    assert rig.api.forms("image.delete") == []


def test_doubles_of_one_order_are_deleted_after_a_last_look(rig: Rig) -> None:
    rig.api.order_reply = "none"
    rig.api.lifecycle = ["Saving", "Saving", "Saving", "Active"]

    def made_twice(data: dict[str, str]) -> Any:
        rig.api.answer(ORDER, data)
        return rig.api.answer(ORDER, data)

    rig.api.queue(ORDER, made_twice)
    created = rig.create()
    assert created.record.id == "5206259"
    assert [d["elid"] for d in rig.api.forms("image.delete")] == ["5206260"]
    assert list(rig.api.images) == ["5206259"]


def test_images_like_this_one_are_not_named_in_advice(rig: Rig) -> None:
    """Another resource's image with the same inputs, or an unfinished order's
    image, may belong to a stack this run knows nothing of: no advice about them."""
    rig.api.add_image(image_name="Ubuntu24", url=VALID["url"], region=VALID["region"], disk_format="iso")
    rig.api.add_image(image_name="zp-0badcafe0badcafe-Ubuntu24", url=VALID["url"], region=VALID["region"])
    rig.create()
    assert not any("adopt_image_id" in line or "warning" in line for line in rig.said)
    assert len(rig.api.images) == 3


# ---------------------------------------------------------------- after Active


def test_a_healthy_image_survives_failed_listings_after_active_and_a_failed_finish(rig: Rig) -> None:
    seen = {"lists": 0, "failed": 0}

    def active_then_unlistable(data: dict[str, str]) -> Any:
        if "5206259" not in rig.api.images:
            return None
        seen["lists"] += 1
        if seen["lists"] == 2:
            rig.api.set_status("5206259", "Active")  # healthy, and the list starts failing
        if seen["lists"] >= 2 and seen["failed"] < 7:
            seen["failed"] += 1
            return 502, "<html>bad gateway</html>"
        return None

    def finish_fails(data: dict[str, str]) -> Any:
        return (502, "<html>bad gateway</html>") if data.get("sok") == "ok" else None

    rig.api.lifecycle = ["Saving"]
    rig.api.queue("image", *[active_then_unlistable] * 50)
    rig.api.queue("image.edit", *[finish_fails] * 50)
    created = rig.create(protected=True)
    assert seen["failed"] == 7
    record = created.record
    assert record.id == "5206259" and record.status == "Active"
    assert record.protected is False and TEMPORARY.match(record.image_name or "")
    (warning,) = created.warnings
    assert "5206259" in warning and "Active" in warning and "pulumi up" in warning
    assert rig.api.forms("image.delete") == [] and list(rig.api.images) == ["5206259"]


# ---------------------------------------------------------------- failures before Active


@pytest.mark.parametrize("word", FAILED_WORDS + GONE_WORDS)
def test_a_status_that_never_becomes_active_ends_the_wait_and_the_image_is_deleted(
    rig: Rig, word: str
) -> None:
    rig.api.lifecycle = ["Saving", word]
    with pytest.raises(ImageCreateError) as info:
        rig.create(protected=True)
    message = str(info.value)
    assert "5206259" in message and word in message and "deleted" in message
    assert [d["elid"] for d in rig.api.forms("image.delete")] == ["5206259"]
    assert rig.api.images == {}


def test_an_unknown_status_is_waited_on_and_named_once(rig: Rig) -> None:
    rig.api.lifecycle = ["Saving", "Verifying", "Verifying", "Verifying", "Active"]
    created = rig.create()
    assert created.record.status == "Active"
    named = [line for line in rig.said if "'Verifying'" in line and "not one this provider knows" in line]
    assert len(named) == 1


@pytest.mark.parametrize("pages", [1, 3])
@pytest.mark.parametrize("failure", ["5xx", "hang"])
def test_create_timeout_bounds_the_create_whatever_the_status_checks_do(
    rig: Rig, failure: str, pages: int
) -> None:
    rig.api.lifecycle = ["Saving"]
    rig.api.page_size_cap = 2
    for i in range(2 * pages - 1):  # with the new one: `pages` pages; more than one means single views
        rig.api.add_image(image_name=f"other{i}")
    state: dict[str, Optional[float]] = {"discarded_at": None}
    start = rig.clock.monotonic()

    def status_check(data: dict[str, str]) -> Any:
        # Every status check fails until the deadline; the last look then works.
        ordered = bool(rig.api.forms(ORDER))
        if not ordered or rig.clock.monotonic() >= start + 300 or data.get("sok") == "ok":
            return None
        return Hang() if failure == "hang" else (503, "")

    def delete(data: dict[str, str]) -> Any:
        state["discarded_at"] = rig.clock.monotonic()
        return None

    rig.api.queue("image", *[status_check] * 500)
    rig.api.queue("image.edit", *[status_check] * 500)
    rig.api.queue("image.delete", delete)
    new_id = str(5206259 + 2 * pages - 1)
    with pytest.raises(ImageCreateTimeout) as info:
        rig.create(create_timeout=300)
    assert state["discarded_at"] is not None
    # the wait ends at the deadline; the last look and the delete are cleanup
    assert state["discarded_at"] - start <= 300 + 2 * rig.client.tuning.timeout
    message = str(info.value)
    assert "create_timeout of 300s" in message and "deleted" in message
    assert new_id in message and new_id not in rig.api.images
    # the last look is one view, and the end of the deletion another: "not listed"
    # is "gone" only once the image's own view fails too (a list filter may hide it)
    assert len(rig.api.views()) == 2


@pytest.mark.parametrize("shape", [s for s in MISSING_SHAPES if s != "html200"])
def test_an_image_that_vanishes_while_uploading_ends_the_create_at_once(rig: Rig, shape: str) -> None:
    rig.api.missing = shape
    rig.api.lifecycle = ["Saving"]
    looks = {"n": 0}

    def purged_after_one_look(data: dict[str, str]) -> Any:
        if "5206259" in rig.api.images and data.get("sok") != "ok":
            looks["n"] += 1
            if looks["n"] == 2:
                del rig.api.images["5206259"]
        return None

    rig.api.queue("image", *[purged_after_one_look] * 100)
    rig.api.queue("image.edit", *[purged_after_one_look] * 100)
    start = rig.clock.monotonic()
    with pytest.raises(ImageCreateError) as info:
        rig.create(create_timeout=600)
    assert not isinstance(info.value, ImageCreateTimeout)
    assert "5206259" in str(info.value) and "disappeared" in str(info.value)
    assert "Saving" in str(info.value)
    assert rig.clock.monotonic() - start < 60


def test_a_timeout_deletes_the_stuck_image_and_names_its_status(rig: Rig) -> None:
    rig.api.lifecycle = ["Saving"]
    start = rig.clock.monotonic()
    with pytest.raises(ImageCreateTimeout) as info:
        rig.create(create_timeout=60)
    assert "'Saving'" in str(info.value) and "create_timeout of 60s" in str(info.value)
    assert rig.api.images == {}
    assert rig.clock.monotonic() - start >= 60


def test_a_failed_cleanup_names_the_image_and_the_way_out(rig: Rig) -> None:
    rig.api.lifecycle = ["Saving", "Killed"]
    refuse = {"doc": {"error": {"$type": "value", "$object": "other", "msg": {"$": "cannot delete now"}}}}
    rig.api.queue("image.delete", *[refuse] * 3)
    with pytest.raises(ImageCreateError) as info:
        rig.create()
    message = str(info.value)
    assert "5206259" in message and "Zomro panel" in message and "adopt_image_id='5206259'" in message
    assert "5206259" in rig.api.images


# ---------------------------------------------------------------- gone or not


@pytest.mark.parametrize("shape", MISSING_SHAPES)
def test_a_missing_id_is_gone_whatever_the_answer(rig: Rig, shape: str) -> None:
    rig.api.missing = shape
    assert rig.images.looks.view("404040") is None
    rig.images.delete("404040", unprotect=False)
    rig.images.wait_gone("404040")
    with pytest.raises(ZomroError, match="does not exist"):
        rig.adopt("404040")
    with pytest.raises(ZomroError, match="no longer exists"):
        rig.images.edit("404040", {"image_name": "x"})
    assert "image" in rig.api.funcs()  # the list decided


@pytest.mark.parametrize("shape", MISSING_SHAPES)
def test_a_listed_image_keeps_the_error_of_a_call_on_its_id(rig: Rig, shape: str) -> None:
    image_id = rig.api.add_image(image_name="Ubuntu24", url=VALID["url"], protected=False)
    rig.api.hidden.add(image_id)
    rig.api.missing = shape
    with pytest.raises(ZomroError) as viewed:
        rig.images.looks.view(image_id)
    assert "does not exist" not in str(viewed.value)
    with pytest.raises(ZomroError) as deleted:
        rig.images.delete(image_id, unprotect=False)
    assert "protected" not in str(deleted.value)
    with pytest.raises(ZomroError) as adopted:
        rig.adopt(image_id)
    assert "does not exist" not in str(adopted.value)
    with pytest.raises(ZomroError) as edited:
        rig.images.edit(image_id, {"image_name": "x"})
    assert "no longer exists" not in str(edited.value)
    assert image_id in rig.api.images


def test_delete_waits_until_the_list_no_longer_holds_the_image(rig: Rig) -> None:
    image_id = rig.api.add_image(image_name="x", protected=False)

    lists = {"n": 0}

    def purged_after_two_lists(data: dict[str, str]) -> Any:
        lists["n"] += 1
        if lists["n"] == 2:
            rig.api.images.pop(image_id)
        return None

    def deleted_later(data: dict[str, str]) -> Any:
        rig.api.set_status(image_id, "Active")  # still listed as it was for a moment
        rig.api.queue("image", purged_after_two_lists, purged_after_two_lists)
        return {"doc": {"ok": {}}}

    rig.api.queue("image.delete", deleted_later)
    rig.images.delete(image_id, unprotect=False)
    # gone once the list no longer holds it and its own view fails too
    assert rig.api.funcs() == ["image.delete", "image", "image", "image.edit"]
    assert image_id not in rig.api.images


@pytest.mark.parametrize("word", GONE_WORDS)
def test_an_image_being_deleted_needs_no_delete(rig: Rig, word: str) -> None:
    image_id = rig.api.add_image(image_name="x", protected=True, fleio_status=word)
    rig.images.delete(image_id, unprotect=False)  # refused as protected, but it is going anyway
    assert rig.images.looks.listed(image_id) is not None


def test_a_protected_image_is_refused_with_what_to_do(rig: Rig) -> None:
    image_id = rig.api.add_image(image_name="x", protected=True)
    with pytest.raises(ProtectedImageError) as info:
        rig.images.delete(image_id, unprotect=False)
    assert info.value.image_id == image_id and "protected" in str(info.value)
    assert image_id in rig.api.images
    rig.images.delete(image_id, unprotect=True)  # a deletion the user allowed
    assert image_id not in rig.api.images


def test_adopt_waits_for_an_image_still_uploading(rig: Rig) -> None:
    rig.api.lifecycle = ["Saving", "Saving", "Active"]
    image_id = rig.api.add_image(image_name="Ubuntu24", url=VALID["url"], protected=False, os_version="24")
    rig.api.steps[image_id] = 0
    record = rig.adopt(image_id)
    assert record.id == image_id and record.status == "Active"
    assert rig.api.forms(ORDER) == []


def test_an_image_active_at_the_last_look_is_kept_and_the_create_succeeds(rig: Rig) -> None:
    """Status checks fail until the deadline while the image turns Active and
    deletes would still work: the last look sees Active, nothing is deleted."""
    rig.api.lifecycle = ["Saving"]
    start = rig.clock.monotonic()

    def failing_until_the_deadline(data: dict[str, str]) -> Any:
        if "5206259" in rig.api.images and data.get("sok") != "ok":
            rig.api.set_status("5206259", "Active")
            if rig.clock.monotonic() < start + 120:
                return 503, ""
        return None

    rig.api.queue("image", *[failing_until_the_deadline] * 200)
    rig.api.queue("image.edit", *[failing_until_the_deadline] * 200)
    created = rig.create(create_timeout=120)
    assert created.record.id == "5206259" and created.record.image_name == "Ubuntu24"
    assert rig.api.forms("image.delete") == [] and list(rig.api.images) == ["5206259"]
    assert any("last look" in line for line in rig.said)


def test_an_image_that_cannot_be_seen_is_kept_and_named(rig: Rig) -> None:
    rig.api.lifecycle = ["Saving"]

    def never_seen_again(data: dict[str, str]) -> Any:
        if rig.api.forms(ORDER) and data.get("sok") != "ok":
            return 503, ""
        return None

    rig.api.queue("image", *[never_seen_again] * 500)
    rig.api.queue("image.edit", *[never_seen_again] * 500)
    with pytest.raises(ImageCreateTimeout) as info:
        rig.create(create_timeout=60)
    message = str(info.value)
    assert "5206259" in message and "kept" in message and "adopt_image_id='5206259'" in message
    assert rig.api.forms("image.delete") == [] and list(rig.api.images) == ["5206259"]


def test_a_lost_order_is_not_sent_again_while_a_filter_is_saved_for_the_list(rig: Rig) -> None:
    rig.api.saved_filter = "Debian*"
    rig.api.queue(ORDER, never_made)
    with pytest.raises(ImageCreateError) as info:
        rig.create(create_timeout=600)
    assert len(rig.api.forms(ORDER)) == 1
    assert "a filter is saved for the image list (image_name 'Debian*')" in str(info.value)
    assert "not ordered again" in str(info.value)
    assert not any(call.get("sok") for call in rig.api.forms("image.filter"))


def test_an_api_without_a_saved_filter_form_still_lets_a_complete_list_decide(rig: Rig) -> None:
    rig.api.queue(ORDER, never_made)
    rig.create()  # the fake does not know image.filter: the list alone decides, as before
    assert len(rig.api.forms(ORDER)) == 2 and len(rig.api.forms("image.filter")) == 1


def test_an_order_lost_every_time_ends_as_soon_as_a_list_proves_none_landed(rig: Rig) -> None:
    rig.api.queue(ORDER, never_made, never_made, never_made)
    start = rig.clock.monotonic()
    with pytest.raises(ImageCreateError) as info:
        rig.create(create_timeout=1800)
    assert len(rig.api.forms(ORDER)) == 3 and rig.api.images == {}
    assert "none of them landed" in str(info.value)
    assert rig.clock.monotonic() - start < 3 * 60  # not the whole create_timeout


# ---------------------------------------------------------------- names stored altered


@pytest.mark.parametrize(
    "store",
    [
        lambda name: name[:19],  # cut down to the token itself
        lambda name: name[:24],
        lambda name: name.upper(),
        lambda name: name.lower().strip()[:64],
    ],
    ids=["cut-19", "cut-24", "upper", "lower-trim-cut-64"],
)
def test_a_lost_answer_is_found_by_its_token_whatever_the_api_does_to_the_name(
    rig: Rig, store: Callable[[str], str]
) -> None:
    rig.api.store_name = store
    rig.api.order_reply = "none"
    rig.api.queue(ORDER, lands_but_answer_lost(rig))
    created = rig.create(image_name="Ubuntu24 " + "x" * 80)
    assert len(rig.api.forms(ORDER)) == 1 and list(rig.api.images) == [created.record.id]


def test_a_name_cut_shorter_than_its_token_proves_nothing_and_nothing_is_ordered_again(
    rig: Rig,
) -> None:
    rig.api.store_name = lambda name: name[:12]
    rig.api.queue(ORDER, lands_but_answer_lost(rig))
    with pytest.raises(ImageCreateError) as info:
        rig.create()
    (order,) = rig.api.forms(ORDER)
    message = str(info.value)
    assert "not ordered again" in message and order["image_name"][:19] in message
    assert "cut" in message and "adopt_image_id" in message
    assert len(rig.api.images) == 1 and rig.api.forms("image.delete") == []


def test_once_a_name_is_seen_stored_altered_no_list_proves_an_order_did_not_land(rig: Rig) -> None:
    """An API that rewrites names (here: '-' to '_') may hide a token from every
    list: after this run saw it do so, a lost order is never sent again."""
    rig.api.store_name = lambda name: name.replace("-", "_")
    first = rig.create()  # its answer carries the id: the altered name is seen
    assert first.record.id == "5206259"
    rig.api.queue(ORDER, lands_but_answer_lost(rig))
    with pytest.raises(ImageCreateError, match="stored the name") as info:
        rig.create(image_name="Debian12")
    assert "not ordered again" in str(info.value)
    assert len(rig.api.forms(ORDER)) == 2 and len(rig.api.images) == 2


def test_names_stored_as_sent_or_only_case_folded_leave_lists_proof(rig: Rig) -> None:
    rig.api.store_name = lambda name: name.upper()
    rig.create()
    rig.api.queue(ORDER, never_made)
    created = rig.create(image_name="Debian12")
    first, second = rig.api.forms(ORDER)[1:]
    assert first["image_name"] == second["image_name"] and created.record.id == "5206260"


def test_names_cut_short_of_a_token_in_the_list_prove_nothing(rig: Rig) -> None:
    """A leftover of any order, listed cut shorter than a token, shows that the API
    cuts names: an order that did not land is not sent again on a list's word."""
    rig.api.add_image(image_name="zp-0badcafe", url=VALID["url"])
    rig.api.queue(ORDER, never_made)
    with pytest.raises(ImageCreateError, match="cut shorter than an order token"):
        rig.create()
    assert len(rig.api.forms(ORDER)) == 1


def test_an_order_sent_again_whose_name_is_cut_short_warns_of_an_untraceable_late_landing(
    rig: Rig,
) -> None:
    rig.api.store_name = lambda name: name[:12]
    rig.api.queue(ORDER, never_made)
    created = rig.create()
    first, second = rig.api.forms(ORDER)
    assert first["image_name"] == second["image_name"]
    (warning,) = [w for w in created.warnings if "cannot be seen" in w]
    assert first["image_name"] in warning and "delete it in the Zomro panel" in warning
