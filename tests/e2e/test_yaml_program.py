"""A YAML program end to end through the provider plugin, with the real CLI and
the real YAML language host (built from the Go module proxy by
scripts/ensure-pulumi-yaml.sh): preview, up, an edit, a replacement, refresh and
destroy against the emulator, counting what each orders, edits and deletes."""

from __future__ import annotations

import json
import re
import time

from harness import UBUNTU, Emulator, Project
from harness.yaml import ids, write_program

NOTHING = {"orders": 0, "edits": 0, "deletes": 0}


def test_a_yaml_program_previews_creates_edits_replaces_refreshes_and_destroys(
    yaml_project: Project, emulator: Emulator
) -> None:
    project = yaml_project
    write_program(project.path, {"img": UBUNTU})
    preview = project.preview()
    assert "+ zomro:index:Image" in preview.stdout and emulator.changes() == NOTHING

    project.up()
    assert emulator.changes() == {"orders": 1, "edits": 1, "deletes": 0}  # ordered, renamed once Active
    (image,) = emulator.images()
    assert image["image_name"] == "Ubuntu24" and ids(project) == {"img": str(image["id"])}
    assert "2 unchanged" in project.preview().stdout  # the stack and the image

    emulator.reset_stats()
    write_program(project.path, {"img": {**UBUNTU, "min_ram": 2}})
    edit = project.preview()
    assert re.search(r"~ minRam\s*: 1 => 2", edit.stdout), edit.stdout
    project.up()
    assert emulator.changes() == {"orders": 0, "edits": 1, "deletes": 0}
    assert [i["min_ram"] for i in emulator.images()] == [2]

    emulator.reset_stats()
    write_program(project.path, {"img": {**UBUNTU, "min_ram": 2, "region": "Netherlands-1"}})
    replace = project.preview()
    assert "+-zomro:index:Image: (replace)" in replace.stdout
    assert re.search(r'~ region: "Netherlands-2" => "Netherlands-1"', replace.stdout), replace.stdout
    assert "region cannot change in place, so a new image is ordered" in replace.output, replace.output
    assert "cannot change in place" not in edit.output
    project.up()
    assert emulator.changes() == {"orders": 1, "edits": 1, "deletes": 1}
    (moved,) = emulator.images()
    assert moved["region"] == "Netherlands-1" and ids(project) == {"img": str(moved["id"])}

    emulator.reset_stats()
    emulator.patch(f"images/{moved['id']}", {"min_ram": 3})  # changed in the panel
    project.run("refresh", "--yes", "--skip-preview")
    assert emulator.changes() == NOTHING
    (resource,) = [r for r in project.export()["deployment"]["resources"] if r.get("type") == "zomro:index:Image"]
    assert resource["outputs"]["minRam"] == 3

    project.run("destroy", "--yes", "--skip-preview")
    assert emulator.images() == [] and ids(project) == {}


def test_pulumi_import_takes_an_image_over_and_prints_its_code(
    yaml_project: Project, emulator: Emulator
) -> None:
    project = yaml_project
    body = {k: UBUNTU[k] for k in ("region", "url", "disk_format", "os_distro", "architecture")}
    made = emulator.post("images", {**body, "image_name": "Handmade", "os_version": "24", "status": "Active"})
    image_id = str(made["id"])
    emulator.reset_stats()
    done = project.run("import", "zomro:index:Image", "handmade", image_id, "--yes")
    assert emulator.changes() == NOTHING
    assert ids(project) == {"handmade": image_id}
    code = done.stdout[done.stdout.index("\nresources:") + 1 :]
    assert "imageName: Handmade" in code and f"url: {UBUNTU['url']}" in code, done.stdout
    # The printed code, copied into the program as the CLI asks: nothing to do.
    (project.path / "Pulumi.yaml").write_text(f"name: zomro-yaml\nruntime: yaml\n{code}")
    preview = project.preview()
    assert "2 unchanged" in preview.stdout and "to update" not in preview.stdout, preview.stdout
    assert emulator.changes() == NOTHING


def test_custom_timeouts_bound_the_create_and_the_image_is_deleted(
    yaml_project: Project, emulator: Emulator
) -> None:
    project = yaml_project
    emulator.faults(activation_delay=120)
    write_program(project.path, {"img": UBUNTU}, {"customTimeouts": {"create": "8s"}})
    start = time.monotonic()
    failed = project.up(check=False)
    took = time.monotonic() - start
    assert failed.returncode != 0 and took < 8 + 60, (took, failed.output[-2000:])
    said = " ".join(failed.output.split())
    assert "8 s" in said or "8s" in said, said[-2000:]
    # The message alone, as the dynamic provider shows it: no Python stack.
    assert "Traceback" not in failed.output and 'File "' not in failed.output, failed.output[-3000:]
    assert emulator.changes() == {"orders": 1, "edits": 0, "deletes": 1} and emulator.images() == []


def test_replacing_a_protected_image_is_refused_at_preview_through_the_plugin(
    yaml_project: Project, emulator: Emulator
) -> None:
    project = yaml_project
    write_program(project.path, {"img": {**UBUNTU, "protected": True}})
    project.up()
    emulator.reset_stats()
    write_program(project.path, {"img": {**UBUNTU, "protected": True, "region": "Netherlands-1"}})
    refused = project.preview(check=False)
    said = " ".join(refused.output.split())
    assert refused.returncode != 0 and "is protected, and changing region needs a new image" in said, said
    assert "first set protected: false with region unchanged" in said, said  # as the program writes it
    assert project.up(check=False).returncode != 0
    assert emulator.changes() == NOTHING and len(emulator.images()) == 1


def test_get_images_looks_images_up_from_a_yaml_program(yaml_project: Project, emulator: Emulator) -> None:
    project = yaml_project
    body = {k: UBUNTU[k] for k in ("region", "url", "disk_format", "os_distro", "architecture")}
    wanted = emulator.post("images", {**body, "image_name": "Wanted", "status": "Active"})
    emulator.post("images", {**body, "image_name": "Other", "status": "Active"})
    program = {
        "name": "zomro-yaml", "runtime": "yaml",
        "variables": {"found": {"fn::invoke": {
            "function": "zomro:index:getImages",
            "arguments": {"imageName": "Wanted", "region": "netherlands-2"},
            "return": "images",
        }}},
        "outputs": {"id": "${found[0].imageId}", "name": "${found[0].imageName}", "count": "${found}"},
    }
    (project.path / "Pulumi.yaml").write_text(json.dumps(program))
    emulator.reset_stats()
    project.up()
    outputs = json.loads(project.run("stack", "output", "--json").stdout)
    assert (outputs["id"], outputs["name"]) == (str(wanted["id"]), "Wanted") and len(outputs["count"]) == 1
    assert emulator.mutating() == 0


def test_the_advice_after_a_lost_order_reads_as_yaml_and_following_it_orders_nothing(
    yaml_project: Project, emulator: Emulator
) -> None:
    """Names kept to 12 characters and a lost answer: the create ends naming the
    order, and its advice, written as a YAML program writes inputs, is pasted in
    literally: the one image is taken over, not ordered again."""
    project = yaml_project
    long = {**UBUNTU, "image_name": "Ubuntu-24.04-server"}
    emulator.faults(name_cut=12, lose_order_name="Ubuntu", lost_order_lands_after=0)
    write_program(project.path, {"img": long})
    failed = project.up(check=False)
    said = " ".join(failed.output.split())
    assert failed.returncode != 0 and "by adding adoptImageId: \"<its id>\" to this image" in said, said[-3000:]
    assert "adopt_image_id" not in said
    (image,) = emulator.images()
    assert ids(project) == {}

    emulator.faults(name_cut=12)  # the answers come back; the names stay cut
    emulator.reset_stats()
    write_program(project.path, {"img": {**long, "adopt_image_id": str(image["id"])}})
    project.up()
    assert emulator.changes()["orders"] == 0 and ids(project) == {"img": str(image["id"])}
    assert len(emulator.images()) == 1
