"""A user's own moves order, keep and expose nothing they did not ask for.

Every error that tells the user what to do is followed here literally, and every
test counts the orders, edits and deletes the emulator saw.
"""

from __future__ import annotations

import re
import time

from harness import UBUNTU, Emulator, Project

NEW_URL = "https://example.com/images/ubuntu-24.04.1.iso"


def advised_env(output: str) -> dict[str, str]:
    """The `ZOMRO_DELETE_PROTECTED=<id>` an error told the user to run with."""
    (found,) = set(re.findall(r"ZOMRO_DELETE_PROTECTED=(\d+)", output))
    return {"ZOMRO_DELETE_PROTECTED": found}


def test_replacing_a_protected_image_is_refused_at_preview_and_the_two_steps_work(
    project: Project, emulator: Emulator
) -> None:
    project.declare({"img": {**UBUNTU, "protected": True}})
    project.up()
    (image,) = emulator.images()
    emulator.reset_stats()

    project.declare({"img": {**UBUNTU, "protected": True, "url": NEW_URL}})
    preview = project.preview(check=False)
    up = project.up(check=False)
    for result in (preview, up):
        assert result.returncode != 0
        assert f"image {image['id']}" in result.output and "url" in result.output
        assert "protected=False" in result.output
    assert emulator.changes() == {"orders": 0, "edits": 0, "deletes": 0}

    # step one: unprotect in place, url as before; step two: change the url
    project.declare({"img": {**UBUNTU, "protected": False}})
    project.up()
    project.declare({"img": {**UBUNTU, "protected": False, "url": NEW_URL}})
    project.up()
    (new,) = emulator.images()
    assert new["url"] == NEW_URL and new["id"] != image["id"]
    assert emulator.changes()["orders"] == 1


def test_a_stack_stuck_on_a_protected_image_pending_delete_gets_out_ordering_nothing(
    project: Project, emulator: Emulator
) -> None:
    """How a stack got stuck before: the image was protected in the panel, so the
    state did not know, and a replacement could not delete the old image."""
    project.declare({"img": UBUNTU})
    project.up()
    (old,) = emulator.images()
    emulator.patch(f"images/{old['id']}", {"protected": True})  # in the panel
    project.declare({"img": {**UBUNTU, "url": NEW_URL}})
    stuck = project.up(check=False)
    assert stuck.returncode != 0 and len(emulator.images()) == 2
    again = project.up(check=False)  # stays stuck: every run fails the same way
    assert again.returncode != 0
    emulator.reset_stats()

    project.extra_env.update(advised_env(again.output))  # the error's advice, literally
    project.up()
    project.extra_env.clear()
    (kept,) = emulator.images()
    assert kept["url"] == NEW_URL and kept["id"] != old["id"]
    # the delete refused once, the protection lifted, the delete again; nothing ordered
    assert emulator.changes() == {"orders": 0, "edits": 1, "deletes": 2}
    assert [r["id"] for r in project.resources()] == [kept["id"]]
    assert "to replace" not in project.preview().stdout


def test_destroy_with_a_protected_image_names_a_way_that_orders_nothing(
    project: Project, emulator: Emulator
) -> None:
    project.declare({"a": {**UBUNTU, "protected": True}, "b": {**UBUNTU, "image_name": "Other"}})
    project.up()
    emulator.reset_stats()
    failed = project.run("destroy", "--yes", "--skip-preview", check=False)
    assert failed.returncode != 0 and len(emulator.images()) == 1
    project.extra_env.update(advised_env(failed.output))
    project.run("destroy", "--yes", "--skip-preview")
    assert emulator.images() == [] and project.resources() == []
    assert emulator.changes()["orders"] == 0


def test_a_lookup_by_id_fails_loudly_now_and_when_the_image_goes_later(
    project: Project, emulator: Emulator
) -> None:
    project.declare({}, gets={"ref": "999999"})
    missing = project.preview(check=False)
    assert missing.returncode != 0 and "999999" in missing.output
    image_id = emulator.post("images", {"image_name": "Read-only"})["id"]
    project.declare({}, gets={"ref": str(image_id)})
    project.up()
    emulator.delete(f"images/{image_id}")  # deleted in the panel
    gone = project.up(check=False)
    assert gone.returncode != 0 and str(image_id) in gone.output
    assert emulator.changes() == {"orders": 0, "edits": 0, "deletes": 0}


def test_plain_text_credentials_fail_the_preview_and_the_advice_fixes_it(
    project: Project, emulator: Emulator
) -> None:
    project.declare({"img": UBUNTU})
    project.run("config", "set", "zomro:password", "demo", "--plaintext")
    refused = project.preview(check=False)
    assert refused.returncode != 0
    (line,) = [x for x in refused.output.splitlines() if "zomro:password" in x and "plain" in x]
    assert "pulumi config set --secret zomro:password" in line and "Traceback" not in refused.output
    stack_file = project.path / f"Pulumi.{project.stack}.yaml"
    assert "demo" in stack_file.read_text()
    project.run("config", "set", "--secret", "zomro:password", "demo")  # the advice
    project.preview()
    assert "password: demo" not in stack_file.read_text()
    assert emulator.changes()["orders"] == 0


def test_inputs_the_api_cannot_take_are_refused_at_preview(project: Project, emulator: Emulator) -> None:
    cases = {
        "at most 235 characters": {"image_name": "x" * 240},  # the order's token needs 20 more
        "control characters": {"image_name": "two\nlines"},
        "credentials": {"url": "https://user:secret@example.com/a.iso"},
    }
    emulator.reset_stats()
    for said, change in cases.items():
        project.declare({"img": {**UBUNTU, **change}})
        result = project.preview(check=False)
        assert result.returncode != 0 and said in result.output
        assert "user:secret" not in result.output  # the engine echoes a failing property's value
    assert emulator.changes() == {"orders": 0, "edits": 0, "deletes": 0}


def test_https_to_the_plain_http_emulator_fails_the_preview_at_once(
    project: Project, emulator: Emulator
) -> None:
    project.declare({"img": UBUNTU})
    project.config("zomro:endpoint", emulator.url.replace("http://", "https://"))
    started = time.monotonic()
    result = project.preview(check=False)
    assert result.returncode != 0 and time.monotonic() - started < 30
    assert "does not speak https" in result.output and emulator.requests() == []


def test_refresh_against_a_hanging_api_fails_within_the_stated_bound(
    project: Project, emulator: Emulator
) -> None:
    """90 s for the refresh's calls (README), plus one attempt's minimum and the
    CLI's own start: well within two minutes, where it once took seven."""
    project.declare({"img": UBUNTU})
    project.up()
    emulator.faults(latency_ms=100_000)  # every answer 100 s late: the API hangs
    started = time.monotonic()
    result = project.run("refresh", "--yes", "--skip-preview", check=False)
    took = time.monotonic() - started
    emulator.faults(latency_ms=0)
    assert result.returncode != 0 and took < 120, took
    assert "no answer" in result.output and "in time" in result.output
    assert len(project.resources()) == 1  # nothing dropped
