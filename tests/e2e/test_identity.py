"""Which image is whose, decided by proof, through the real CLI.

Each test is a way an adversarial run once broke the mapping from resources to
images: a lost order claiming another stack's image, a list that contradicts
itself, pages past the first, a create_timeout that did not bound the create and
an order sent three times, an Active image deleted after failed status checks,
and leftover advice naming images other resources manage.
"""

from __future__ import annotations

import re
import time

from harness import UBUNTU, Emulator, Project, make_project
from harness.chaos import run_all

ORDER = "v2.image.order.param"


def owned(*projects: Project) -> list[str]:
    return [r["id"] for p in projects for r in p.resources()]


def test_lost_orders_never_claim_an_image_of_the_same_name_from_another_stack(
    tmp_path: object, cli_bin: str
) -> None:
    """Two stacks order images of one name at once while 30 % of all answers are
    lost, before and after the API acted, and answers carry the id."""
    emulator = Emulator(activation_delay=2.0, order_reply="id", seed=4)
    try:
        projects = [make_project(tmp_path, cli_bin, emulator, stack=s) for s in ("dev", "staging")]  # type: ignore[arg-type]
        projects[0].declare({f"img{n}": {**UBUNTU, "create_timeout": 120} for n in range(5)})
        emulator.faults(transient_rate=0.3, transient_kinds=["5xx", "drop"])
        first = run_all(projects, "up", "--yes", "--skip-preview")
        emulator.faults(transient_rate=0.0)
        lost = [r for r in emulator.requests() if r["func"] == ORDER and r["outcome"].startswith("fault:")]
        assert lost, "no order answer was lost: the test proves nothing"
        run_all(projects, "up", "--yes", "--skip-preview")  # whatever failed is finished now
        ids = owned(*projects)
        account = sorted(str(i["id"]) for i in emulator.images())
        assert len(ids) == len(set(ids)) == 10, ids  # nobody shares an image
        assert sorted(ids) == account, [r.output[-3000:] for r in first]
        assert all(i["image_name"] == "Ubuntu24" for i in emulator.images())
    finally:
        emulator.stop()


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
    """Every list contradicts itself until the deadline while deletes still work:
    the last look sees the image Active and nothing is deleted."""
    project.declare({"img": {**UBUNTU, "create_timeout": 15}})
    emulator.faults(list_fault_rate=1.0, list_fault_kinds=["no_elements"])
    result = project.up(check=False)
    emulator.faults(list_fault_rate=0.0)
    assert emulator.changes()["deletes"] == 0
    (image,) = emulator.images()
    assert image["status"] == "Active"
    assert result.returncode == 0 and owned(project) == [str(image["id"])], result.output[-3000:]


def test_no_advice_names_an_image_that_another_resource_or_stack_manages(
    tmp_path: object, cli_bin: str, emulator: Emulator
) -> None:
    projects = [make_project(tmp_path, cli_bin, emulator, stack=s) for s in ("dev", "staging")]  # type: ignore[arg-type]
    projects[0].declare({"a": UBUNTU, "b": UBUNTU})  # two resources, the same inputs
    outputs = [r.output for r in run_all(projects, "up", "--yes", "--skip-preview")]
    emulator.patch(f"images/{owned(projects[0])[0]}", {"min_ram": 3})  # drift
    outputs += [projects[0].run("refresh", "--yes", "--skip-preview").output]
    outputs += [r.output for r in run_all(projects, "up", "--yes", "--skip-preview")]
    text = "\n".join(outputs)
    assert not re.search(r"adopt_image_id|not created by this run|delete it in the Zomro panel", text)
    assert len(set(owned(*projects))) == 4 == len(emulator.images())
