"""Two stacks of one program ordering images of the same name at the same moment.

`dev` and `staging` share the program and the backend, as a user's stacks do, and
their `pulumi up` runs start together against one account. Whatever the order's
answer carries, each stack must end with exactly the images it ordered.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import UBUNTU, Emulator, Project, Result, make_project

ORDER_REPLIES = ("id", "elid", "item.id", "bare", "none")
STACKS = ("dev", "staging")
IMAGES = {f"img{n}": UBUNTU for n in range(5)}  # five images, all named alike


@pytest.fixture(params=ORDER_REPLIES)
def emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """Slow enough activation that the two runs' orders overlap."""
    emu = Emulator(activation_delay=2.0)
    try:
        assert emu.faults(order_reply=request.param)["order_reply"] == request.param
        yield emu
    finally:
        emu.stop()


def up_together(projects: list[Project]) -> list[Result]:
    """Start `pulumi up` of every stack at once and wait for all of them."""
    procs = [
        subprocess.Popen(
            ["pulumi", "up", "--yes", "--skip-preview", "--non-interactive", "--color", "never",
             "--stack", p.stack],
            cwd=p.path,
            env=p.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in projects
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        results.append(Result(proc.returncode, out, err))
    return results


def test_two_stacks_ordering_the_same_names_at_once_keep_their_own_images(
    tmp_path: Path, cli_bin: str, emulator: Emulator
) -> None:
    projects = [make_project(tmp_path, cli_bin, emulator, stack=s) for s in STACKS]
    projects[0].declare(IMAGES)  # one program directory: both stacks declare these

    results = up_together(projects)
    for stack, result in zip(STACKS, results):
        assert result.returncode == 0, f"{stack}:\n{result.output[-6000:]}"
        assert "error:" not in result.output, f"{stack}:\n{result.output[-6000:]}"

    account = {i["id"]: i for i in emulator.images()}
    assert len(account) == 10
    assert all(i["status"] == "Active" for i in account.values())
    assert all(i["image_name"] == UBUNTU["image_name"] for i in account.values())

    owned = {}
    for project in projects:
        resources = project.resources()
        assert sorted(r["urn"].rsplit("::", 1)[1] for r in resources) == sorted(IMAGES)
        ids = {r["id"] for r in resources}
        assert len(ids) == 5 and ids <= set(account)
        for r in resources:
            assert r["outputs"]["image_id"] == r["id"]
            assert r["outputs"]["status"] == "Active"
            assert r["outputs"]["image_name"] == UBUNTU["image_name"]
        outputs = project.outputs()
        assert {outputs[f"{name}_id"] for name in IMAGES} == ids
        owned[project.stack] = ids
    assert owned["dev"].isdisjoint(owned["staging"])
    assert owned["dev"] | owned["staging"] == set(account)
