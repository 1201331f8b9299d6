"""The README's first command, `make demo`, in a fresh clone; and the examples."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from harness import ROOT, Emulator, make_project


def clean_env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PULUMI_", "ZOMRO_", "VIRTUAL_ENV"))
    }


def test_make_demo_in_a_fresh_clone_twice(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    first = subprocess.run(
        ["make", "demo"],
        cwd=clone,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    output = first.stdout + first.stderr
    assert first.returncode == 0, output[-6000:]
    assert re.search(r"ubuntu_status\s+Active", output), output[-3000:]
    assert re.search(r"debian_status\s+Active", output)
    assert "+ 3 created" in output
    ids = re.findall(r"(?:ubuntu|debian)_image_id\s+(\d+)", output)
    assert len(set(ids)) == 2

    second = subprocess.run(
        ["make", "demo"],
        cwd=clone,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = second.stdout + second.stderr
    assert second.returncode == 0, output[-6000:]
    assert "3 unchanged" in output
    assert set(re.findall(r"(?:ubuntu|debian)_image_id\s+(\d+)", output)) == set(ids)
    # the emulator it started is stopped again: its port refuses connections
    url = re.search(r"emulator at (http://\S+)", output)
    assert url is not None
    with pytest.raises(requests.ConnectionError):
        requests.get(url.group(1) + "_emulator/health", timeout=5)


def test_the_basic_and_chained_examples_run(
    tmp_path: Path, cli_bin: str, emulator: Emulator
) -> None:
    for name, expected in (("basic", 1), ("chained", 3)):
        project = make_project(tmp_path / name, cli_bin, emulator, stack=name)
        for item in (ROOT / "examples" / name).iterdir():
            if item.suffix == ".py":
                shutil.copy(item, project.path / item.name)
        project.up()
        assert len([i for i in emulator.images() if i["status"] == "Active"]) == expected
        outputs = project.outputs()
        if name == "chained":
            assert len(outputs["all_ids"]) == 3
            base_id = outputs["base"]["id"]
            assert all(u["name"].endswith(base_id) for u in outputs["ubuntu"])
        else:
            assert outputs["status"] == "Active"
        project.run("destroy", "--yes", "--skip-preview")
        assert emulator.images() == []


def test_the_adopt_example_adopts_reads_and_looks_up(
    tmp_path: Path, cli_bin: str, emulator: Emulator
) -> None:
    url = "https://releases.ubuntu.com/24.04/ubuntu-24.04-live-server-amd64.iso"
    adopt_id = emulator.post(
        "images",
        {
            "image_name": "made-in-panel",
            "region": "Netherlands-2",
            "url": url,
            "disk_format": "iso",
            "os_distro": "ubuntu",
            "architecture": "x86_64",
        },
    )["id"]
    other_id = emulator.post(
        "images",
        {
            "image_name": "read-only",
            "region": "Netherlands-1",
            "url": "https://example.com/x.qcow2",
            "disk_format": "qcow2",
            "os_distro": "debian",
            "architecture": "x86_64",
        },
    )["id"]
    project = make_project(tmp_path, cli_bin, emulator, stack="adopt")
    shutil.copy(ROOT / "examples" / "adopt" / "__main__.py", project.path / "__main__.py")
    project.config("zomro-e2e:existingImageId", adopt_id)
    project.config("zomro-e2e:readOnlyImageId", other_id)
    emulator.reset_stats()
    project.up()
    outputs = project.outputs()
    assert outputs["adopted_id"] == adopt_id and outputs["read_only_name"] == "read-only"
    assert outputs["images_in_region"] == [adopt_id]
    assert emulator.counts().get("v2.image.order.param", 0) == 0
    names = {i["id"]: i["image_name"] for i in emulator.images()}
    assert names == {adopt_id: "Ubuntu24", other_id: "read-only"}
    project.run("destroy", "--yes", "--skip-preview")
    assert [i["id"] for i in emulator.images()] == [other_id]  # the read-only one stays
