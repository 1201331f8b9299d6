"""Drift made behind Pulumi's back, seen and settled by `pulumi refresh`."""

from __future__ import annotations

from harness import MUTATING, UBUNTU, Emulator, Project


def changed(output: str) -> dict[str, str]:
    """`~ name : old => new` lines of a `--diff` display, by property name."""
    found: dict[str, str] = {}
    for line in output.splitlines():
        text = line.strip()
        if text.startswith("~ ") and ":" in text and "=>" in text:
            name, _, rest = text[2:].partition(":")
            found[name.strip()] = rest.strip()
    return found


def refresh(project: Project) -> str:
    return project.run("refresh", "--yes", "--diff", "--skip-preview").stdout


def test_refresh_without_drift_reports_nothing_and_calls_nothing_that_changes(
    project: Project, emulator: Emulator
) -> None:
    project.declare({"img": UBUNTU})
    project.up()
    (before,) = project.resources()
    emulator.reset_stats()
    out = refresh(project)
    assert "2 unchanged" in out and "updated" not in out and "deleted" not in out
    assert changed(out) == {}
    assert emulator.mutating() == 0
    assert set(emulator.counts()) <= {"auth", "image"}  # one shared list, no view, no edit
    (after,) = project.resources()
    assert after["id"] == before["id"]
    assert after["inputs"] == before["inputs"] and after["outputs"] == before["outputs"]
    preview = project.preview()
    for word in ("to create", "to update", "to replace", "to delete"):
        assert word not in preview.stdout
    assert emulator.mutating() == 0


def test_out_of_band_edit_shows_as_drift_and_the_next_up_puts_it_back(
    project: Project, emulator: Emulator
) -> None:
    project.declare({"img": UBUNTU})
    project.up()
    (image,) = emulator.images()
    emulator.patch(f"images/{image['id']}", {"image_name": "Edited-behind-pulumi", "min_ram": 3})
    emulator.reset_stats()

    out = refresh(project)
    # exactly the two drifted properties, old => new, and nothing else
    assert changed(out) == {
        "image_name": '"Ubuntu24" => "Edited-behind-pulumi"',
        "min_ram": "1 => 3",
    }
    assert "1 updated" in out
    assert emulator.mutating() == 0
    (resource,) = project.resources()
    assert resource["id"] == image["id"]
    for side in ("inputs", "outputs"):
        assert resource[side]["image_name"] == "Edited-behind-pulumi"
        assert resource[side]["min_ram"] == 3
        assert resource[side]["min_disk"] == 1  # untouched fields keep their values

    preview = project.preview()
    assert changed(preview.stdout) == {
        "image_name": '"Edited-behind-pulumi" => "Ubuntu24"',
        "min_ram": "3 => 1",
    }
    assert "1 to update" in preview.stdout and "replace" not in preview.stdout
    assert emulator.mutating() == 0

    project.up()
    (back,) = emulator.images()
    assert back["id"] == image["id"]
    assert (back["image_name"], back["min_ram"]) == ("Ubuntu24", 1)
    (edit,) = [r for r in emulator.requests() if r["func"] == "image.edit" and r["form"].get("sok")]
    assert edit["form"]["elid"] == image["id"]
    assert (edit["form"]["image_name"], edit["form"]["min_ram"]) == ("Ubuntu24", "1")
    assert emulator.counts().get("v2.image.order.param", 0) == 0
    assert project.outputs()["img_name"] == "Ubuntu24"


def test_out_of_band_delete_is_dropped_by_refresh_and_recreated_by_up(
    project: Project, emulator: Emulator
) -> None:
    project.declare({"img": UBUNTU})
    project.up()
    (image,) = emulator.images()
    emulator.delete(f"images/{image['id']}")
    emulator.reset_stats()

    out = refresh(project)
    assert "- pulumi-python:dynamic/zomro:Image: (delete)" in out and "1 deleted" in out
    assert project.resources() == []
    assert emulator.mutating() == 0

    preview = project.preview()
    assert "+ 1 to create" in preview.stdout
    project.up()
    (again,) = emulator.images()
    assert again["id"] != image["id"] and again["status"] == "Active"
    assert [r["func"] for r in emulator.requests() if r["func"] in MUTATING] == [
        "v2.image.order.param"
    ]
    (resource,) = project.resources()
    assert resource["id"] == again["id"] == project.outputs()["img_id"]
