"""`pulumi destroy` (a protected image that blocks it: tests/e2e/test_user_moves.py)."""

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
