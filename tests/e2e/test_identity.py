"""Which image is whose, decided by proof, through the real CLI.

Each test is a way an adversarial run once broke the mapping from resources to
images: a lost order claiming another stack's image, a list that contradicts
itself, pages past the first, a create_timeout that did not bound the create and
an order sent three times, an Active image deleted after failed status checks,
and leftover advice naming images other resources manage.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

from harness import UBUNTU, Emulator, Project, make_project
from harness.chaos import run_all

ORDER = "v2.image.order.param"


def owned(*projects: Project) -> list[str]:
    return [r["id"] for p in projects for r in p.resources()]


def test_a_lost_order_never_claims_the_image_of_that_name_another_stack_orders_meanwhile(
    tmp_path: Path, cli_bin: str, emulator: Emulator
) -> None:
    """Stack `dev` orders `Shared` (answers carry the id) and its answer is lost, the
    order never made; meanwhile stack `staging` orders its own `Shared`.  Once, `dev`
    took that image for its own: two resources owned one image."""
    dev = make_project(tmp_path / "dev", cli_bin, emulator, stack="dev")
    staging = make_project(tmp_path / "staging", cli_bin, emulator, stack="staging")
    shared = {**UBUNTU, "image_name": "Shared"}
    # `Probe` first, so that `Shared` is not the first order of its run.
    dev.declare({"probe": {**UBUNTU, "image_name": "Probe"}, "shared": {**shared, "depends_on": ["probe"]}})
    staging.declare({"shared": shared})
    emulator.faults(lose_order_name="-Shared", lose_orders=1)
    running = subprocess.Popen(
        ["pulumi", "up", "--yes", "--skip-preview", "--non-interactive", "--color", "never",
         "--stack", "dev"],
        cwd=dev.path, env=dev.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    deadline = time.monotonic() + 120
    while not [r for r in emulator.requests() if r["func"] == ORDER and r["outcome"].startswith("fault:")]:
        assert time.monotonic() < deadline and running.poll() is None, "the order was never lost"
        time.sleep(0.1)
    staging.up()  # while dev looks for its lost order
    out, _ = running.communicate(timeout=600)
    assert running.returncode == 0, out[-4000:]
    ids = owned(dev, staging)
    assert len(ids) == len(set(ids)) == 3, ids  # nobody shares an image
    assert sorted(ids) == sorted(str(i["id"]) for i in emulator.images())
    assert sorted(i["image_name"] for i in emulator.images()) == ["Probe", "Shared", "Shared"]


def test_a_list_that_contradicts_itself_changes_nothing(project: Project, emulator: Emulator) -> None:
    project.declare({f"img{n}": {**UBUNTU, "image_name": f"img{n}"} for n in range(3)})
    project.up()
    before = sorted(owned(project))
    emulator.reset_stats()
    emulator.faults(list_fault_rate=1.0, list_fault_kinds=["no_elements", "idless"])
    refresh = project.run("refresh", "--yes", "--skip-preview", check=False)
    assert refresh.returncode != 0 and "image list" in refresh.output
    up = project.run("up", "--yes", "--skip-preview", "--refresh", check=False)
    assert up.returncode != 0
    emulator.faults(list_fault_rate=0.0)
    assert sorted(owned(project)) == before and len(emulator.images()) == 3
    assert emulator.changes() == {"orders": 0, "edits": 0, "deletes": 0}


def test_refresh_reads_past_pages_the_server_caps_without_saying_so(
    project: Project, emulator: Emulator
) -> None:
    for n in range(7):  # older images, listed first
        emulator.post("images", {"image_name": f"other{n}"})
    project.declare({f"img{n}": {**UBUNTU, "image_name": f"img{n}"} for n in range(3)})
    project.up()
    emulator.faults(max_page_size=2, omit_paging_fields=True)
    emulator.reset_stats()
    project.run("refresh", "--yes", "--skip-preview")
    assert len(owned(project)) == 3 and emulator.counts()["image"] >= 6  # every page, then an empty one
    assert "to create" not in project.preview().stdout


def test_create_timeout_bounds_a_create_whose_order_answer_comes_late(
    project: Project, emulator: Emulator
) -> None:
    """The API takes the order 20 s late, after the create_timeout of 10 s: the
    create fails in time, the order is sent once, and the error's advice, followed
    literally, takes the image over without ordering another."""
    project.declare({"img": {**UBUNTU, "create_timeout": 10}})
    emulator.faults(late_rate=1.0, late_s=20, late_kinds=["act"])
    started = time.monotonic()
    failed = project.up(check=False)
    took = time.monotonic() - started
    emulator.faults(late_rate=0.0)
    assert failed.returncode != 0 and took < 10 + 60
    assert "not ordered again" in failed.output
    (token,) = set(re.findall(r"sent as '([^']+)'", failed.output))
    deadline = time.monotonic() + 30
    while not emulator.images() and time.monotonic() < deadline:
        time.sleep(0.5)
    landed = emulator.image_named(token)  # found in the panel by the name the error gives
    (order,) = [r for r in emulator.requests() if r["func"] == ORDER]
    assert order["form"]["image_name"] == token
    project.declare({"img": {**UBUNTU, "adopt_image_id": str(landed["id"])}})
    project.up()
    assert owned(project) == [str(landed["id"])]
    assert emulator.changes()["orders"] == 1 and len(emulator.images()) == 1


def test_an_image_active_when_status_checks_gave_up_is_kept(project: Project, emulator: Emulator) -> None:
    """Every image list fails until the deadline while deletes still work: the last
    look (a single view) sees the image Active, and nothing is deleted."""
    project.declare({"img": {**UBUNTU, "create_timeout": 15}})
    emulator.faults(transient_rate=1.0, transient_kinds=["5xx"], transient_funcs=["image"])
    result = project.up(check=False)
    emulator.faults(transient_rate=0.0, transient_funcs=[])
    assert emulator.changes()["deletes"] == 0
    (image,) = emulator.images()
    assert image["status"] == "Active"
    assert result.returncode == 0 and owned(project) == [str(image["id"])], result.output[-3000:]
    assert "last look" in result.output


def test_no_advice_names_an_image_that_another_resource_or_stack_manages(
    tmp_path: Path, cli_bin: str, emulator: Emulator
) -> None:
    projects = [make_project(tmp_path, cli_bin, emulator, stack=s) for s in ("dev", "staging")]
    projects[0].declare({"a": UBUNTU, "b": UBUNTU})  # two resources, the same inputs
    outputs = [r.output for r in run_all(projects, "up", "--yes", "--skip-preview")]
    emulator.patch(f"images/{owned(projects[0])[0]}", {"min_ram": 3})  # drift
    outputs += [projects[0].run("refresh", "--yes", "--skip-preview").output]
    outputs += [r.output for r in run_all(projects, "up", "--yes", "--skip-preview")]
    text = "\n".join(outputs)
    assert not re.search(r"adopt_image_id|not created by this run|delete it in the Zomro panel", text)
    assert len(set(owned(*projects))) == 4 == len(emulator.images())
