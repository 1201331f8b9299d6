"""A list filtered in the panel, through the real CLI: consistent in its counts,
it still hides images, and nothing is dropped, ordered or lost on its word.

The emulator's `list_filter` plays a filter saved in the panel's image list: the
list shows only matching images and its counts agree; the view of one image
(`image.edit` without `sok`) shows every image.
"""

from __future__ import annotations

from harness import UBUNTU, Emulator, Project, diagnostics

ORDER = "v2.image.order.param"
FILTERED = "looks filtered"


def test_a_refresh_through_a_filtered_list_drops_nothing_and_the_next_up_orders_nothing(
    project: Project, emulator: Emulator
) -> None:
    project.declare({f"img{n}": {**UBUNTU, "image_name": f"img{n}"} for n in range(3)})
    project.up()
    before = sorted(r["id"] for r in project.resources())
    emulator.faults(list_filter="^img0$")
    emulator.reset_stats()
    refresh = project.run("refresh", "--yes", "--skip-preview")
    assert sorted(r["id"] for r in project.resources()) == before
    said = [line for lines in diagnostics(refresh.output).values() for line in lines]
    assert sum(FILTERED in line for line in said) == 1, refresh.output[-3000:]  # once a run
    views = [r for r in emulator.requests() if r["func"] == "image.edit" and not r["form"].get("sok")]
    assert len(views) == 2  # the two images the list hides, and no other
    project.up()
    assert emulator.changes() == {"orders": 0, "edits": 0, "deletes": 0}
    assert len(emulator.images()) == 3


def test_destroy_does_not_take_a_hidden_protected_image_for_gone(
    project: Project, emulator: Emulator
) -> None:
    project.declare({"img": {**UBUNTU, "protected": True}})
    project.up()
    (image_id,) = [r["id"] for r in project.resources()]
    emulator.faults(list_filter="^nothing$")
    destroy = project.run("destroy", "--yes", "--skip-preview", check=False)
    assert destroy.returncode != 0 and "protected" in destroy.output
    assert [r["id"] for r in project.resources()] == [image_id]
    assert [str(i["id"]) for i in emulator.images()] == [image_id]
    # The way out the error names works, and takes this image only.
    project.extra_env["ZOMRO_DELETE_PROTECTED"] = image_id
    project.run("destroy", "--yes", "--skip-preview")
    assert emulator.images() == [] and project.resources() == []


def test_a_lost_order_is_not_sent_again_while_a_filter_is_saved_for_the_list(
    project: Project, emulator: Emulator
) -> None:
    # The order's answer is lost, the order made at once, and the image hidden by a
    # filter saved in the panel: no view can show it (it has no id yet), the list's
    # saved filter can.
    emulator.faults(list_filter="^Debian", lose_order_name="Ubuntu24", lost_order_lands_after=0)
    project.declare({"img": UBUNTU})
    failed = project.up(check=False)
    assert failed.returncode != 0
    said = " ".join(failed.output.split())
    assert "a filter is saved for the image list (image_name '^Debian')" in said
    assert "so it was not ordered again" in said
    assert emulator.changes()["orders"] == 1
    (image,) = emulator.images()
    token = image["image_name"][: len("zp-0123456789abcdef")]
    assert token in said  # the user can find it in the panel
