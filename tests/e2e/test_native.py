"""What users of native providers get: Pulumi's `import_`, several accounts in one
stack, credentials checked at preview, progress on the image's own row."""

from __future__ import annotations

import json
import re

from harness import UBUNTU, Emulator, Project, diagnostics


def test_the_import_option_takes_an_image_over_ordering_nothing(
    project: Project, emulator: Emulator
) -> None:
    made = emulator.post("images", {**{k: UBUNTU[k] for k in UBUNTU if k != "image_name"},
                                    "image_name": "Handmade", "min_ram": 2})
    image_id = str(made["id"])
    emulator.reset_stats()
    project.declare({"img": {**UBUNTU, "import_": image_id}})
    project.up()
    assert [r["id"] for r in project.resources()] == [image_id]
    # nothing ordered; the editable fields that differ are edited to the program's
    assert emulator.changes() == {"orders": 0, "edits": 1, "deletes": 0}
    (image,) = emulator.images()
    assert (image["image_name"], image["min_ram"]) == ("Ubuntu24", 1)
    emulator.reset_stats()
    preview = project.preview()
    assert "to update" not in preview.stdout and "to create" not in preview.stdout
    # a field that cannot be edited must match: the import fails and changes nothing
    other = emulator.post("images", {"image_name": "Other", "disk_format": "qcow2"})
    project.declare({"img": {**UBUNTU, "import_": image_id}, "b": {**UBUNTU, "import_": str(other["id"])}})
    refused = project.up(check=False)
    assert refused.returncode != 0 and "disk_format" in refused.output
    assert emulator.changes() == {"orders": 0, "edits": 0, "deletes": 0}


def test_one_stack_manages_images_in_two_accounts(
    project: Project, emulator: Emulator, second: Emulator
) -> None:
    project.run("config", "set", "--path", "zomro:accounts.prod.endpoint", second.url)
    project.run("config", "set", "--path", "zomro:accounts.prod.username", "demo")
    project.run("config", "set", "--secret", "--path", "zomro:accounts.prod.password", "demo")
    project.declare({"home": UBUNTU, "away": {**UBUNTU, "account": "prod"}})
    project.up()
    (home,) = emulator.images()
    (away,) = second.images()
    ids = {r["urn"].rsplit("::", 1)[1]: r for r in project.resources()}
    assert (ids["home"]["id"], ids["away"]["id"]) == (str(home["id"]), str(away["id"]))
    assert ids["away"]["outputs"]["account"] == "prod"
    state = json.dumps(ids["away"])  # only the account's name, nothing of its settings
    assert second.url not in state and "endpoint" not in state

    emulator.reset_stats()
    second.reset_stats()
    preview = project.preview()  # unchanged: at most one call per account, none about images
    assert "to update" not in preview.stdout and "to create" not in preview.stdout
    assert emulator.counts() == {"auth": 1} and second.counts() == {"auth": 1}

    project.declare({"home": {**UBUNTU, "account": "prod"}, "away": {**UBUNTU, "account": "prod"}})
    moved = project.preview()
    assert "(replace)" in moved.stdout and re.search(r'[+~] account\s*: .*"prod"', moved.stdout)
    assert "is replaced: account cannot change in place, so a new image is ordered" in moved.output, moved.output
    project.up()
    assert emulator.images() == [] and len(second.images()) == 2

    project.declare({"home": {**UBUNTU, "account": "staging"}})
    unknown = project.preview(check=False)
    (line,) = [x for x in unknown.output.splitlines() if "unknown Zomro account 'staging'" in x]
    assert "prod" in line


def test_a_wrong_password_fails_the_preview_in_one_line_naming_the_setting(
    project: Project, emulator: Emulator
) -> None:
    project.declare({"img": UBUNTU})
    project.config("zomro:password", "not-the-password", secret=True)
    emulator.reset_stats()
    result = project.preview(check=False)
    assert result.returncode != 0
    (line,) = [x for x in result.output.splitlines() if "refused the credentials" in x]
    assert line.startswith("error: ") and "zomro:password" in line
    assert emulator.counts() == {"auth": 1} and emulator.images() == []


def test_progress_lines_show_under_the_image_they_are_about(project: Project, emulator: Emulator) -> None:
    emulator.faults(activation_delay=2.5)
    project.declare({f"img{n}": {**UBUNTU, "image_name": f"Row-{n}"} for n in range(3)})
    result = project.up()
    blocks = diagnostics(result.output)
    for n in range(3):
        lines = blocks[f"pulumi-python:dynamic/zomro:Image (img{n})"]
        assert any(re.fullmatch(rf"image \d+ \(Row-{n}\): Active after \d+s", x) for x in lines), lines
        assert {m for x in lines for m in re.findall(r"Row-\d", x)} == {f"Row-{n}"}
    stack = [b for b in blocks if b.startswith("pulumi:pulumi:Stack")]
    assert not any("Row-" in x for b in stack for x in blocks[b])
