"""A new image that ends killed (one that stays Saving past create_timeout is the
same path through the last look; the lifecycle tests check it on a fake clock).

`up` must fail naming the image and the cause, and delete what it ordered, so
nothing is left to be billed; once the fault is gone, the next `up` succeeds.
"""

from __future__ import annotations

from typing import Any

from harness import UBUNTU, Emulator, Project


def ordered_and_deleted(emulator: Emulator) -> list[str]:
    """Ids of the images deleted, after exactly one order took effect."""
    log = emulator.requests()
    assert sum(1 for r in log if r["func"] == "v2.image.order.param" and r["outcome"] == "ok") == 1
    return sorted(
        r["form"]["elid"] for r in log if r["func"] == "image.delete" and r["outcome"] == "ok"
    )


def fails_then_recovers(
    project: Project, emulator: Emulator, spec: dict[str, Any], fault: str, causes: list[str]
) -> None:
    project.declare({"img": spec})
    failed = project.up(check=False)
    assert failed.returncode != 0
    (image_id,) = ordered_and_deleted(emulator)
    text = failed.output
    assert f"image {image_id} ({spec['image_name']})" in text
    for cause in causes:
        assert cause in text
    assert f"Image {image_id} was deleted, so nothing is left behind" in text
    assert emulator.images() == []  # no orphan: the delete went through and finished
    assert project.resources() == []

    emulator.faults(**{fault: None})
    emulator.reset_stats()
    project.up()
    (image,) = emulator.images()
    assert image["status"] == "Active" and image["id"] != image_id
    assert project.outputs()["img_id"] == image["id"]
    assert emulator.counts().get("image.delete", 0) == 0


def test_a_killed_image_fails_up_naming_it_and_is_deleted(
    project: Project, emulator: Emulator
) -> None:
    emulator.faults(kill_name="-Doomed")
    fails_then_recovers(
        project,
        emulator,
        {**UBUNTU, "image_name": "Doomed"},
        "kill_name",
        ["ended in status 'Killed' instead of Active"],
    )
