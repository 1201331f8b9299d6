"""`pulumi destroy`, and a protected image that blocks it."""

from __future__ import annotations

from harness import UBUNTU, Emulator, Project


def test_destroy_leaves_no_image(project: Project, emulator: Emulator) -> None:
    project.declare({"a": UBUNTU, "b": {**UBUNTU, "image_name": "Ubuntu24-b"}})
    project.up()
    ids = sorted(i["id"] for i in emulator.images())
    assert len(ids) == 2
    emulator.reset_stats()
    out = project.run("destroy", "--yes", "--skip-preview").stdout
    assert "3 deleted" in out  # the two images and the stack
    assert emulator.images() == []
    deletes = [r for r in emulator.requests() if r["func"] == "image.delete"]
    assert sorted(r["form"]["elid"] for r in deletes) == ids
    assert all(r["outcome"] == "ok" for r in deletes)
    assert emulator.counts().get("v2.image.order.param", 0) == 0
    assert project.resources() == []


def test_protected_image_blocks_destroy_until_unprotected_by_up(
    project: Project, emulator: Emulator
) -> None:
    project.declare({"img": {**UBUNTU, "protected": True}})
    project.up()
    (image,) = emulator.images()
    assert image["protected"] is True
    emulator.reset_stats()

    failed = project.run("destroy", "--yes", "--skip-preview", check=False)
    assert failed.returncode != 0
    assert f"image {image['id']} is protected" in failed.output
    assert "protected=False" in failed.output and "pulumi up" in failed.output
    (kept,) = emulator.images()
    assert kept["id"] == image["id"] and kept["protected"] is True and kept["status"] == "Active"
    (resource,) = project.resources()  # still managed
    assert resource["id"] == image["id"]
    refused = [r for r in emulator.requests() if r["func"] == "image.delete"]
    assert [r["outcome"] for r in refused] == ["error:value/protected"]
    # the provider must not lift the protection by itself on destroy
    assert not [
        r for r in emulator.requests() if r["func"] == "image.edit" and r["form"].get("sok")
    ]

    project.declare({"img": {**UBUNTU, "protected": False}})
    project.up()
    (unprotected,) = emulator.images()
    assert unprotected["id"] == image["id"] and unprotected["protected"] is False
    project.run("destroy", "--yes", "--skip-preview")
    assert emulator.images() == []
    assert project.resources() == []
