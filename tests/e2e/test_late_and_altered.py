"""Proof that outlives the create, through the real CLI: names the API stores
other than sent, and orders that land after their answer was lost.

Each test counts what a user would count in the panel afterwards: the orders
made, the images billed, and which of them a stack holds or the output names.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from harness import UBUNTU, Emulator, Project, diagnostics

ORDER = "v2.image.order.param"
LONG = {**UBUNTU, "image_name": "Ubuntu-24.04-server"}


def owned(project: Project) -> list[str]:
    return [r["id"] for r in project.resources()]


def test_a_name_stored_cut_and_upper_cased_still_shows_the_token_of_a_lost_order(
    project: Project, emulator: Emulator
) -> None:
    """The API keeps names cut to 24 characters, upper-cased, and loses the answer
    to an order it made: the image is found by its token, never ordered twice."""
    emulator.faults(
        name_cut=24, name_case="upper", lose_order_name="Ubuntu", lost_order_lands_after=0,
        order_reply="none",
    )
    project.declare({"img": LONG})
    up = project.up()
    assert "was lost" in up.output
    images = emulator.images()
    assert emulator.changes()["orders"] == 1 and len(images) == 1, up.output[-3000:]
    assert owned(project) == [str(images[0]["id"])]
    assert images[0]["image_name"] == "UBUNTU-24.04-SERVER"
    project.run("refresh", "--yes", "--skip-preview")
    project.preview("--expect-no-changes")
    project.run("destroy", "--yes", "--skip-preview")
    assert emulator.images() == []


def test_a_name_cut_shorter_than_its_token_proves_nothing_and_nothing_is_ordered_again(
    project: Project, emulator: Emulator
) -> None:
    """Names kept to 12 characters: no list can show the token, so a lost
    answer ends the create with the order named, not with a second order."""
    emulator.faults(name_cut=12, lose_order_name="Ubuntu", lost_order_lands_after=0)
    project.declare({"img": LONG})
    up = project.up(check=False)
    assert up.returncode != 0
    (order,) = [r for r in emulator.requests() if r["func"] == ORDER]
    token = re.match(r"zp-([0-9a-f]{16})-", order["form"]["image_name"])
    assert token is not None and f"zp-{token.group(1)}" in up.output
    assert "not ordered again" in up.output and "adopt_image_id" in up.output
    (image,) = emulator.images()  # the one image the one order made, named in the output
    assert image["image_name"] == order["form"]["image_name"][:12]
    assert owned(project) == []


def wait_for_images(emulator: Emulator, count: int, seconds: float = 90) -> list[dict[str, object]]:
    deadline = time.monotonic() + seconds
    while len(images := emulator.images()) < count:
        assert time.monotonic() < deadline, f"only {len(images)} images after {seconds:.0f}s"
        time.sleep(0.5)
    return images


def landed_late(project: Project, emulator: Emulator) -> tuple[str, str]:
    """`up` whose first order lands 30 s after its lost answer, when the create
    has proven it absent, ordered again and returned: (the state's id, the token)."""
    emulator.faults(lose_order_name="Ubuntu", lost_order_lands_after=30)
    project.declare({"img": UBUNTU})
    up = project.up()
    assert "did not land" in up.output
    (resource,) = project.resources()
    token = resource["outputs"]["order_token"]
    images = wait_for_images(emulator, 2)
    assert all(str(i["image_name"]).startswith("Ubuntu24") or token in str(i["image_name"]) for i in images)
    return resource["id"], token


@pytest.mark.parametrize("command", ["refresh", "destroy"])
def test_an_order_that_lands_after_the_create_returned_is_found_by_the_next_run(
    project: Project, emulator: Emulator, command: str
) -> None:
    """Two images carry one order's token; the state holds one.  The next refresh
    (or destroy) deletes the other and says so on the resource's row."""
    kept, token = landed_late(project, emulator)
    (double,) = [str(i["id"]) for i in emulator.images() if str(i["id"]) != kept]
    run = project.run(command, "--yes", "--skip-preview")
    row = " ".join(diagnostics(run.output).get("pulumi-python:dynamic/zomro:Image (img)", []))
    assert double in row and token in row and "deleting it" in row, run.output[-3000:]
    left = [str(i["id"]) for i in emulator.images()]
    assert left == ([kept] if command == "refresh" else [])
    assert emulator.changes()["orders"] == 2
    if command == "refresh":
        project.preview("--expect-no-changes")


def test_a_stack_of_the_previous_release_without_tokens_shows_no_change(
    project: Project, emulator: Emulator
) -> None:
    """A state written before tokens were kept: refresh, an update and destroy
    show and do only what the user changed."""
    project.declare({"img": UBUNTU})
    project.up()
    state = project.export()
    for resource in state["deployment"]["resources"]:
        resource.get("outputs", {}).pop("order_token", None)
    (project.path / "old.json").write_text(json.dumps(state))
    project.run("stack", "import", "--file", "old.json")
    emulator.reset_stats()
    project.run("refresh", "--yes", "--skip-preview", "--expect-no-changes")
    project.preview("--expect-no-changes")
    project.declare({"img": {**UBUNTU, "min_ram": 2}})
    preview = project.preview()
    assert "~ 1 to update" in preview.output and "order_token" not in preview.output
    project.up()
    project.run("destroy", "--yes", "--skip-preview")
    assert emulator.images() == [] and emulator.changes() == {"orders": 0, "edits": 1, "deletes": 1}


def test_once_this_run_saw_a_name_stored_cut_a_lost_order_is_not_sent_again(
    project: Project, emulator: Emulator
) -> None:
    """`Probe` is ordered first and shows its name cut to 12 characters, shorter
    than a token; then the order of `Shared` is lost and never made.  A complete
    list without its token proves nothing now: no second order, an error naming it."""
    emulator.faults(name_cut=12, lose_order_name="-Shared", lose_orders=1)
    project.declare({
        "probe": {**UBUNTU, "image_name": "Probe"},
        "shared": {**UBUNTU, "image_name": "Shared", "depends_on": ["probe"]},
    })
    up = project.up(check=False)
    assert up.returncode != 0
    orders = [r for r in emulator.requests() if r["func"] == ORDER]
    assert len(orders) == 2, up.output[-3000:]
    assert "stored the name" in up.output and "not ordered again" in up.output
    assert orders[1]["form"]["image_name"] in up.output
    assert [i["image_name"] for i in emulator.images()] == ["Probe"]
