"""Preview, create, no-op, in-place update, replacement."""

from __future__ import annotations

import json
import re

from harness import MUTATING, UBUNTU, Emulator, Project

DOCUMENTED_ORDER_FIELDS = {
    "func",
    "auth",
    "out",
    "sok",
    "image_type",
    "skipbasket",
    "image_name",
    "region",
    "min_disk",
    "min_ram",
    "disk_format",
    "os_distro",
    "os_version",
    "architecture",
    "url",
    "protected",
    "pricelist",
    "order_period",
}


def test_preview_of_a_new_stack_shows_the_create_and_changes_nothing(
    project: Project, emulator: Emulator
) -> None:
    project.declare({"img": UBUNTU})
    result = project.preview()
    assert "zomro:Image" in result.stdout and "create" in result.stdout
    assert "+ 2 to create" in result.stdout  # the stack and the image
    assert emulator.mutating() == 0
    assert emulator.images() == []


def test_up_creates_an_active_image_with_exactly_the_documented_fields(
    project: Project, emulator: Emulator
) -> None:
    project.declare({"img": UBUNTU})
    project.up()
    (image,) = emulator.images()
    assert image["status"] == "Active"
    outputs = project.outputs()
    assert outputs["img_id"] == image["id"] and outputs["img_status"] == "Active"
    (order,) = [r for r in emulator.requests() if r["func"] == "v2.image.order.param"]
    assert set(order["form"]) == DOCUMENTED_ORDER_FIELDS
    form = order["form"]
    assert (form["sok"], form["skipbasket"], form["image_type"], form["out"]) == (
        "ok",
        "on",
        "image",
        "json",
    )
    # the first order of a run goes under a unique temporary name, renamed once Active
    assert re.fullmatch(r"zp-[0-9a-f]{16}-Ubuntu24", form["image_name"])
    assert image["image_name"] == "Ubuntu24" and outputs["img_name"] == "Ubuntu24"
    assert (form["os_distro"], form["order_period"]) == ("ubuntu", "-50")
    (resource,) = project.resources()
    assert resource["id"] == image["id"]
    assert resource["outputs"]["cost"] and resource["outputs"]["fleio_id"] == image["fleio_id"]


def test_unchanged_preview_and_up_change_nothing(project: Project, emulator: Emulator) -> None:
    project.declare({"img": UBUNTU})
    project.up()
    emulator.reset_stats()
    preview = project.preview()
    assert "to create" not in preview.stdout and "to update" not in preview.stdout
    up = project.up()
    assert "to update" not in up.stdout and "to replace" not in up.stdout
    assert emulator.mutating() == 0
    assert emulator.counts().get("image.edit", 0) == 0  # not even a view: no reads on up


def test_editable_changes_update_in_place_and_keep_the_id(
    project: Project, emulator: Emulator
) -> None:
    project.declare({"img": UBUNTU})
    project.up()
    (before,) = emulator.images()
    emulator.reset_stats()
    project.declare(
        {"img": {**UBUNTU, "image_name": "Ubuntu24-renamed", "min_ram": 4, "protected": True}}
    )
    preview = project.preview()
    # only the changed inputs: no __provider, no outputs
    changed = [
        line.strip() for line in preview.stdout.splitlines() if line.strip().startswith("~ ")
    ]
    assert any("image_name" in line for line in changed)
    assert "__provider" not in preview.stdout
    for output in ("cost", "fleio_id", "visibility", "image_size"):
        assert f"{output}:" not in preview.stdout
    project.up()
    (after,) = emulator.images()
    assert after["id"] == before["id"]
    assert (after["image_name"], after["min_ram"], after["protected"]) == (
        "Ubuntu24-renamed",
        4,
        True,
    )
    edits = [
        r for r in emulator.requests() if r["func"] == "image.edit" and r["form"].get("sok") == "ok"
    ]
    assert len(edits) == 1
    assert {"image_name", "min_ram", "protected"} <= set(edits[0]["form"])
    assert emulator.counts().get("v2.image.order.param", 0) == 0
    # and back to unprotected so the fixture can tidy up
    project.declare({"img": {**UBUNTU, "image_name": "Ubuntu24-renamed", "min_ram": 4}})
    project.up()


def test_replacing_changes_make_a_new_image_and_delete_the_old(
    project: Project, emulator: Emulator
) -> None:
    project.declare({"img": UBUNTU})
    project.up()
    (first,) = emulator.images()
    declared = dict(UBUNTU)
    # every input that forces a new image does so through the same diff (the unit
    # tests check each one); through the CLI, one stands for them
    for change in ({"url": "https://example.com/other.iso"},):
        declared.update(change)
        project.declare({"img": declared})
        preview = project.preview()
        prop = next(iter(change))
        assert "(replace)" in preview.stdout and f"~ {prop}" in preview.stdout
        # outputs of the new image are not known yet; they are not removals
        for output in ("image_id", "status", "cost", "fleio_id"):
            assert f"- {output}" not in preview.stdout, preview.stdout
        assert "=> [unknown]" in preview.stdout
        # the property that forces the replacement, as the engine reports it
        steps = json.loads(project.run("preview", "--json").stdout)["steps"]
        (step,) = [s for s in steps if s["urn"].endswith("::img")]
        assert (step["op"], step["replaceReasons"]) == ("replace", [prop])
        project.up()
        (current,) = emulator.images()
        assert current["id"] != first["id"]
        assert current[prop] == change[prop]
        first = current
    assert project.outputs()["img_id"] == first["id"]
    assert sum(1 for r in emulator.requests() if r["func"] in MUTATING) >= 2
