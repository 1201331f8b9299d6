"""Refresh and destroy when a call on a missing id is answered with an HTML page.

The help page does not say what a call on a missing id returns, so whether an
image exists must follow from the image list, never from the error's wording.
Every shape (missed, value, access, a proxy's 404, an HTML page) is checked in the
client, lifecycle and provider tests; through the CLI, the shape furthest from an
error envelope stands for them all (`ZOMRO_E2E_EMULATOR` reruns the whole e2e
suite under any other).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from harness import UBUNTU, Emulator, Project

SHAPES = ("html",)


def missing_id_answer(emulator: Emulator) -> tuple[int, object]:
    """HTTP status and decoded body (None if not JSON) of a view of a missing id."""
    form = {"func": "image.edit", "elid": "1", "auth": emulator.login(), "out": "json"}
    resp = requests.post(emulator.url, data=form, timeout=10)
    try:
        return resp.status_code, json.loads(resp.text)
    except ValueError:
        return resp.status_code, None


@pytest.fixture(params=SHAPES)
def emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """An emulator that answers calls on a missing id in one shape (checked here)."""
    emu = Emulator(activation_delay=0.5, delete_delay=0.2)
    try:
        shape = request.param
        emu.faults(missing_id_error=shape)
        status, body = missing_id_answer(emu)
        if shape in ("http404", "html"):
            assert (status, body) == (404 if shape == "http404" else 200, None)
        else:
            assert status == 200 and isinstance(body, dict)
            assert body["doc"]["error"]["$type"] == shape
        yield emu
    finally:
        emu.stop()


def test_refresh_drops_an_image_deleted_in_the_panel(project: Project, emulator: Emulator) -> None:
    project.declare({"img": UBUNTU})
    project.up()
    (image,) = emulator.images()
    emulator.delete(f"images/{image['id']}")
    emulator.reset_stats()

    out = project.run("refresh", "--yes", "--skip-preview").stdout
    assert "1 deleted" in out
    assert project.resources() == []
    assert emulator.images() == []
    assert emulator.mutating() == 0


def test_destroy_of_a_live_image_leaves_the_account_empty(
    project: Project, emulator: Emulator
) -> None:
    project.declare({"img": UBUNTU})
    project.up()
    (image,) = emulator.images()
    emulator.reset_stats()

    project.run("destroy", "--yes", "--skip-preview")
    assert emulator.images() == []
    assert project.resources() == []
    deletes = [r for r in emulator.requests() if r["func"] == "image.delete"]
    assert [r["form"]["elid"] for r in deletes] == [image["id"]]
    assert emulator.counts().get("v2.image.order.param", 0) == 0


def test_destroy_of_an_image_already_gone_succeeds(project: Project, emulator: Emulator) -> None:
    project.declare({"img": UBUNTU})
    project.up()
    (image,) = emulator.images()
    emulator.delete(f"images/{image['id']}")
    emulator.reset_stats()

    out = project.run("destroy", "--yes", "--skip-preview").stdout
    assert "2 deleted" in out  # the image and the stack
    assert emulator.images() == []
    assert project.resources() == []
    assert emulator.counts().get("v2.image.order.param", 0) == 0
