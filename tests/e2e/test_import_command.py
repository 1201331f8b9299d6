"""`zomro-pulumi import` with the real CLI: images made behind Pulumi's back become
a program whose `pulumi up` orders nothing and edits nothing, and whose next
preview shows no change.  The command (and doctor) read the project's stack
config through the CLI, as a user runs them inside a project."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from harness import UBUNTU, Emulator, Project
from zomro_pulumi import codegen


def handmade(emulator: Emulator, **fields: Any) -> str:
    """An Active image made through the admin side, as if in the panel."""
    body = {k: UBUNTU[k] for k in ("region", "url", "disk_format", "os_distro", "architecture")}
    body.update({"os_version": "24", "min_disk": 1, "min_ram": 1, "status": "Active", **fields})
    return str(emulator.post("images", body)["id"])


def tool(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m zomro_pulumi ...` in the project's folder, with its environment
    (the CLI on PATH, the passphrase) and no ZOMRO_* variable: settings come from
    the stack config only."""
    return subprocess.run(
        [sys.executable, "-m", "zomro_pulumi", *args],
        cwd=project.path, env=project.env, capture_output=True, text=True, timeout=300, check=False,
    )


def test_imported_images_are_taken_over_without_any_change(
    project: Project, emulator: Emulator
) -> None:
    ids = [
        handmade(emulator, image_name="Ubuntu24", protected=True),
        handmade(emulator, image_name="Ubuntu24", min_ram=2, os_version=""),
        handmade(emulator, image_name="Debian 12", region="Netherlands-1", disk_format="qcow2",
                 url="https://cdimage.debian.org/debian-12-generic-amd64.qcow2"),
    ]
    emulator.reset_stats()

    done = tool(project, "import", "--stack", project.stack)
    assert done.returncode == 0, done.stderr
    assert "3 image(s) of" in done.stderr
    program = done.stdout
    assert [r["func"] for r in emulator.requests()].count("image.edit") == 3  # one view each
    assert emulator.mutating() == 0
    for image_id in ids:
        take_over = f'import_="{image_id}"' if codegen.TAKE_OVER_WITH_IMPORT else f'adopt_image_id="{image_id}"'
        assert take_over in program
    assert '"ubuntu24"' in program and f'"ubuntu24_{ids[1]}"' in program and '"debian_12"' in program

    (project.path / "__main__.py").write_text(program)
    emulator.reset_stats()
    project.up()
    counts = emulator.counts()
    assert counts.get("v2.image.order.param", 0) == 0 and counts.get("image.delete", 0) == 0
    assert not [r for r in emulator.requests() if r["func"] == "image.edit" and r["form"].get("sok")]
    assert sorted(r["id"] for r in project.resources()) == sorted(ids)
    assert {i["id"]: i["protected"] for i in emulator.images()}[ids[0]] is True

    emulator.reset_stats()
    preview = project.preview().output
    assert "4 unchanged" in preview, preview  # the stack and the three images
    assert emulator.mutating() == 0


def test_doctor_in_the_project_reads_the_stack_config(project: Project, emulator: Emulator) -> None:
    handmade(emulator, image_name="Ubuntu24")
    done = tool(project, "doctor", "--json", "--stack", project.stack)
    report = json.loads(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    assert report["settings"] == [
        {"name": "endpoint", "value": emulator.url, "source": "stack config zomro:endpoint"},
        {"name": "username", "value": "demo", "source": "stack config zomro:username"},
        {"name": "password", "value": "***", "source": "stack config zomro:password"},
    ]
    assert {r["func"] for r in emulator.requests()} <= {"auth", "whoami", "image", "image.edit", "image.filter"}


def test_an_image_the_provider_would_refuse_is_left_out_and_the_rest_taken_over(
    project: Project, emulator: Emulator
) -> None:
    good = handmade(emulator, image_name="Ubuntu24")
    bad = handmade(emulator, image_name="Ubuntu\x07bell\ttab")
    done = tool(project, "import", "--stack", project.stack)
    assert done.returncode == 0, done.stderr
    assert f"left out image {bad} (Ubuntu\\x07bell\\ttab): image_name must not contain" in done.stderr
    assert "\x07" not in done.stderr + done.stdout
    assert "1 image(s) of" in done.stderr
    assert f"# Left out: image {bad}" in done.stdout and f'import_="{bad}"' not in done.stdout

    (project.path / "__main__.py").write_text(done.stdout)
    emulator.reset_stats()
    project.up()
    assert emulator.changes() == {"orders": 0, "edits": 0, "deletes": 0}
    assert [r["id"] for r in project.resources()] == [good]
    assert sorted(str(i["id"]) for i in emulator.images()) == sorted([good, bad])
    assert "2 unchanged" in project.preview().output
