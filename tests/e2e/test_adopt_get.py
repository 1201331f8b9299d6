"""`adopt_image_id`, Image.get and get_images against images made out of band."""

from __future__ import annotations

from typing import Any

from harness import UBUNTU, Emulator, Project

OTHER_URL = "https://example.com/images/other.qcow2"


def handmade(emulator: Emulator, **fields: Any) -> dict[str, Any]:
    """An Active image created behind Pulumi's back (admin side), as the emulator holds it."""
    body = {k: UBUNTU[k] for k in ("region", "url", "disk_format", "os_distro", "architecture")}
    body.update(
        {"image_name": "Handmade", "os_version": "24", "min_disk": 1, "min_ram": 2, **fields}
    )
    image_id = emulator.post("images", body)["id"]
    return dict(emulator.get(f"images/{image_id}"))


def test_adopt_takes_over_an_existing_image_without_ordering(
    project: Project, emulator: Emulator
) -> None:
    existing = handmade(emulator, image_name="Handmade", min_ram=2, min_disk=3)
    emulator.reset_stats()
    project.declare({"img": {**UBUNTU, "adopt_image_id": existing["id"]}})  # min_disk 1, min_ram 1
    project.up()

    assert emulator.counts().get("v2.image.order.param", 0) == 0
    (edit,) = [r for r in emulator.requests() if r["func"] == "image.edit" and r["form"].get("sok")]
    assert edit["form"]["elid"] == existing["id"]
    assert (edit["form"]["image_name"], edit["form"]["min_ram"], edit["form"]["min_disk"]) == (
        "Ubuntu24",
        "1",
        "1",
    )
    assert "url" not in edit["form"] and "region" not in edit["form"]  # only what differed
    (image,) = emulator.images()
    assert image["id"] == existing["id"]
    assert (image["image_name"], image["min_ram"], image["min_disk"]) == ("Ubuntu24", 1, 1)
    assert image["fleio_id"] == existing["fleio_id"]
    outputs = project.outputs()
    assert outputs["img_id"] == existing["id"] and outputs["img_name"] == "Ubuntu24"
    (resource,) = project.resources()
    assert resource["id"] == existing["id"] and not resource.get("external")

    # from now on it is managed like any other: an edit, then destroy deletes it
    emulator.reset_stats()
    project.declare({"img": {**UBUNTU, "adopt_image_id": existing["id"], "min_ram": 4}})
    project.up()
    (image,) = emulator.images()
    assert image["id"] == existing["id"] and image["min_ram"] == 4
    assert emulator.counts().get("v2.image.order.param", 0) == 0
    project.run("destroy", "--yes", "--skip-preview")
    assert emulator.images() == []
    assert [r["form"]["elid"] for r in emulator.requests() if r["func"] == "image.delete"] == [
        existing["id"]
    ]


def test_adopt_with_a_field_that_would_need_a_new_image_fails_and_changes_nothing(
    project: Project, emulator: Emulator
) -> None:
    for field, value, shown in (
        ("url", OTHER_URL, OTHER_URL),
        ("disk_format", "qcow2", "qcow2"),
    ):
        emulator.post("reset")
        existing = handmade(emulator, **{field: value})
        project.declare({"img": {**UBUNTU, "adopt_image_id": existing["id"]}})
        failed = project.up(check=False)
        assert failed.returncode != 0
        text = failed.output
        assert f"image {existing['id']} cannot be adopted" in text
        assert field in text and shown in text and str(UBUNTU[field]) in text
        assert "drop adopt_image_id" in text
        assert emulator.mutating() == 0
        assert not [
            r for r in emulator.requests() if r["func"] == "image.edit" and r["form"].get("sok")
        ]
        (image,) = emulator.images()
        assert {k: v for k, v in image.items() if k != "updated"} == {
            k: v for k, v in existing.items() if k != "updated"
        }
        assert image["updated"] == existing["updated"]
        assert project.resources() == []


def test_get_reads_an_image_and_destroy_leaves_it_and_get_images_finds_by_name_and_region(
    project: Project, emulator: Emulator
) -> None:
    seen = handmade(emulator, image_name="Read-only", url=OTHER_URL, disk_format="qcow2")
    other = handmade(emulator, image_name="Elsewhere", region="Netherlands-1")
    emulator.reset_stats()
    project.declare(
        {},
        gets={"seen": seen["id"]},
        lookups={
            "by_name": {"image_name": "Read-only"},
            "by_region": {"region": "Netherlands-1"},
            "by_both": {"image_name": "Read-only", "region": "Netherlands-2"},
            "none": {"image_name": "No-such-image"},
        },
    )
    project.up()
    outputs = project.outputs()
    assert (outputs["seen_name"], outputs["seen_url"]) == ("Read-only", OTHER_URL)
    assert outputs["by_name"] == [seen["id"]] and outputs["by_both"] == [seen["id"]]
    assert outputs["by_region"] == [other["id"]]
    assert outputs["none"] == []
    (resource,) = project.resources()
    assert resource["id"] == seen["id"] and resource.get("external") is True
    assert resource["outputs"]["disk_format"] == "qcow2"
    assert emulator.mutating() == 0

    project.run("destroy", "--yes", "--skip-preview")
    assert project.resources() == []
    assert sorted(i["id"] for i in emulator.images()) == sorted([seen["id"], other["id"]])
    assert emulator.counts().get("image.delete", 0) == 0
    assert emulator.mutating() == 0
