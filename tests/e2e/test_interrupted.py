"""A `pulumi up` killed after the order went out, and the way back the README gives.

The CLI is killed with SIGKILL as a whole process group, as a CI job timeout does,
right after the emulator has answered the order: the image exists in the account
but the state only holds a pending create without an id.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from typing import Any

from harness import UBUNTU, Emulator, Project

URN = "urn:pulumi:e2e::zomro-e2e::pulumi-python:dynamic/zomro:Image::img"
ORDER = "v2.image.order.param"


def killed_after_order(project: Project, emulator: Emulator) -> dict[str, Any]:
    """Start `pulumi up`, SIGKILL its process group once the order was answered,
    and return the image that was left in the account (its output in `said`)."""
    cmd = ["pulumi", "up", "--yes", "--skip-preview", "--non-interactive", "--color", "never"]
    # Slow enough that the provider, which ends itself once the engine is gone,
    # is gone before the image could be finished.
    emulator.faults(activation_delay=6.0)
    said = project.path / "killed-run.txt"
    with said.open("w") as out:
        proc = subprocess.Popen(
            [*cmd, "--stack", project.stack],
            cwd=project.path,
            env=project.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while emulator.counts().get(ORDER, 0) == 0:
            assert proc.poll() is None, "pulumi up ended before it ordered the image"
            assert time.monotonic() < deadline, "pulumi up never ordered the image"
            time.sleep(0.02)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    (leftover,) = emulator.images()
    # the name its order carried, not yet renamed, which the killed run printed
    assert re.fullmatch(rf"zp-[0-9a-f]{{16}}-{UBUNTU['image_name']}", leftover["image_name"])
    assert leftover["image_name"] in said.read_text()
    return leftover


def pending(project: Project) -> list[tuple[str, str]]:
    """(type, URN) of every pending operation in the stack's state."""
    ops = project.export().get("deployment", {}).get("pending_operations") or []
    return [(op["type"], op["resource"]["urn"]) for op in ops]


def test_killed_up_is_recovered_by_cancel_clear_and_adopt(
    project: Project, emulator: Emulator
) -> None:
    project.declare({"img": UBUNTU})
    leftover = killed_after_order(project, emulator)

    locked = project.up(check=False)
    assert locked.returncode != 0
    assert "the stack is currently locked" in locked.output and "pulumi cancel" in locked.output
    assert emulator.counts()[ORDER] == 1
    assert pending(project) == [("creating", URN)]
    assert project.resources() == []

    cancelled = project.run("cancel", "--yes", "--stack", project.stack)
    assert "has been canceled" in cancelled.output
    # README advises against `--import-pending-creates`: this CLI drops the pending
    # create without reading the image, which is then neither tracked nor deleted.
    joined = project.run(
        "refresh", "--yes", "--skip-preview", "--import-pending-creates", f"{URN},{leftover['id']}",
        check=False,
    )
    assert joined.returncode != 0 and "each URN must be followed by an ID" in joined.output
    project.run(
        "refresh", "--yes", "--skip-preview",
        "--import-pending-creates", URN, "--import-pending-creates", leftover["id"],
    )
    assert pending(project) == [] and project.resources() == []  # cleared, nothing imported
    project.run("refresh", "--yes", "--skip-preview", "--clear-pending-creates")  # the README's way
    assert pending(project) == []
    assert project.resources() == [] and emulator.changes()["orders"] == 1

    project.declare({"img": {**UBUNTU, "adopt_image_id": leftover["id"]}})
    project.up()
    (image,) = emulator.images()
    assert image["id"] == leftover["id"] and image["status"] == "Active"
    assert image["image_name"] == UBUNTU["image_name"]
    assert emulator.counts()[ORDER] == 1  # nothing ordered a second time
    (resource,) = project.resources()
    assert resource["id"] == leftover["id"] == project.outputs()["img_id"]
    assert pending(project) == []

    project.declare({"img": UBUNTU})  # adopt_image_id may go once adopted
    preview = project.preview()
    for word in ("to create", "to update", "to replace", "to delete"):
        assert word not in preview.stdout
    project.up()
    assert [i["id"] for i in emulator.images()] == [leftover["id"]]
    assert [r["id"] for r in project.resources()] == [leftover["id"]]


def test_a_plain_rerun_orders_a_second_image_and_names_no_image_it_cannot_prove_its_own(
    project: Project, emulator: Emulator
) -> None:
    """The leftover carries its order's token, but whose order that was (this
    stack's killed run, or another stack's create still uploading) no list can
    prove: the rerun neither takes it nor gives advice about it."""
    project.declare({"img": UBUNTU})
    leftover = killed_after_order(project, emulator)
    project.run("cancel", "--yes", "--stack", project.stack)

    rerun = project.up()
    assert "pending operations from previous deployment" in rerun.output
    assert leftover["id"] not in rerun.output and leftover["image_name"] not in rerun.output

    # as README says: a second image, the leftover untouched, the pending create kept
    images = {i["id"]: i for i in emulator.images()}
    assert len(images) == 2 and leftover["id"] in images
    assert images[leftover["id"]]["image_name"] == leftover["image_name"]
    (resource,) = project.resources()
    assert resource["id"] != leftover["id"] and resource["id"] in images
    assert images[resource["id"]]["status"] == "Active"
    assert images[resource["id"]]["image_name"] == UBUNTU["image_name"]
    assert pending(project) == [("creating", URN)]
