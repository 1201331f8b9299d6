"""Thirty percent of API calls fail transiently (5xx, dropped, runningoperation).

`up --parallel 10` of 10 images still makes exactly 10 images, with exactly 10
orders that took effect (an order whose answer was lost is looked for before
it is sent again), and `destroy` leaves none.
"""

from __future__ import annotations

from typing import Any

from harness import UBUNTU, Emulator, Project
from zomro_pulumi.ordering import base_name

COUNT = 10


def took_effect(entry: dict[str, Any]) -> bool:
    """An order the emulator carried out, whether or not its answer reached the client."""
    if entry["outcome"] == "ok":
        return True
    return bool(entry.get("fault_after_change")) and entry.get("result") == "ok"


def test_up_and_destroy_of_ten_images_survive_30_percent_transient_faults(
    project: Project, emulator: Emulator
) -> None:
    names = [f"Flaky-{i}" for i in range(COUNT)]
    project.declare({f"img{i}": {**UBUNTU, "image_name": name} for i, name in enumerate(names)})
    # A fault is drawn per request in arrival order, so with a fixed seed the first
    # requests (the login, the first list, the ten orders) always meet the same faults;
    # seed 14 puts a runningoperation, a 5xx after the change, a drop after the change
    # and a 5xx before it on orders, and all three kinds within the first 25 requests.
    emulator.faults(
        transient_rate=0.3, transient_kinds=["5xx", "drop", "runningoperation"], seed=14
    )
    project.up("--parallel", str(COUNT))

    images = emulator.images()
    assert len(images) == COUNT
    assert sorted(i["image_name"] for i in images) == sorted(names)
    assert all(i["status"] == "Active" for i in images)
    log = emulator.requests()
    orders = [r for r in log if r["func"] == "v2.image.order.param"]
    effective = [r for r in orders if took_effect(r)]
    assert len(effective) == COUNT, [(r["form"]["image_name"], r["outcome"]) for r in orders]
    # an order repeated after a lost answer goes under the image's unique temporary name
    assert sorted(str(base_name(r["form"]["image_name"])) for r in effective) == sorted(names)
    faults = [r for r in log if r["outcome"].startswith("fault:")]
    # the faults really struck, orders included, or this test proves nothing
    assert len(faults) >= 8 and {r["outcome"] for r in faults} == {
        "fault:5xx",
        "fault:drop",
        "fault:runningoperation",
    }
    assert any(r["outcome"].startswith("fault:") for r in orders)

    outputs = project.outputs()
    assert sorted(outputs[f"img{i}_id"] for i in range(COUNT)) == sorted(i["id"] for i in images)
    assert {outputs[f"img{i}_status"] for i in range(COUNT)} == {"Active"}
    assert len(project.resources()) == COUNT

    project.run("destroy", "--yes", "--skip-preview", "--parallel", str(COUNT))
    assert emulator.images() == []
    assert project.resources() == []
