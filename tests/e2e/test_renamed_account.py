"""An account label renamed in the stack config and the program, through the real
CLI: the same endpoint and login is the same account, so nothing is ordered or
deleted and the state's label follows the program; a label whose image no
configured account shows is refused at preview, and each named way out works."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness import UBUNTU, Emulator, Project, make_project

NOTHING = {"orders": 0, "edits": 0, "deletes": 0}


@pytest.fixture
def two_logins() -> Iterator[Emulator]:
    emu = Emulator(accounts={"demo": "demo", "ops": "ops-pass"})
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def accounts_only(tmp_path: Path, cli_bin: str, two_logins: Emulator) -> Project:
    """A stack whose only credentials are under `zomro:accounts`."""
    return make_project(tmp_path, cli_bin, two_logins, login=False)


def up_in_prod(project: Project, emulator: Emulator) -> dict[str, Any]:
    """One image in account "prod" (the emulator's demo login); the image."""
    project.set_account("prod", emulator.url)
    project.declare({"img": {**UBUNTU, "account": "prod"}})
    project.up()
    (image,) = emulator.images()
    return image


def test_renaming_an_account_in_config_and_program_orders_and_deletes_nothing(
    accounts_only: Project, two_logins: Emulator
) -> None:
    project, emulator = accounts_only, two_logins
    before = up_in_prod(project, emulator)

    project.run("config", "rm", "--path", "zomro:accounts.prod")
    project.set_account("production", emulator.url)
    project.declare({"img": {**UBUNTU, "account": "production"}})
    emulator.reset_stats()
    preview = project.preview()
    assert "(replace)" not in preview.stdout and "1 to update" in preview.stdout
    assert re.search(r'~ account\s*: "prod" => "production"', preview.stdout), preview.stdout
    assert emulator.changes() == NOTHING

    project.up()
    assert emulator.changes() == NOTHING
    (after,) = emulator.images()
    assert after["id"] == before["id"]
    (resource,) = project.resources()
    assert resource["outputs"]["account"] == "production" and resource["id"] == str(before["id"])
    assert "no changes" in project.preview().stdout.lower() or "unchanged" in project.preview().stdout
    project.run("destroy", "--yes")
    assert emulator.images() == []


def test_a_label_no_configured_account_can_prove_is_refused_and_each_way_out_works(
    accounts_only: Project, two_logins: Emulator
) -> None:
    project, emulator = accounts_only, two_logins
    image = up_in_prod(project, emulator)
    image_id = str(image["id"])

    # "prod" renamed to a label that logs in as someone else: not the same account
    project.run("config", "rm", "--path", "zomro:accounts.prod")
    project.set_account("ops", emulator.url, "ops", "ops-pass")
    project.declare({"img": {**UBUNTU, "account": "ops"}})
    emulator.reset_stats()
    refused = project.preview(check=False)
    assert refused.returncode != 0
    said = " ".join(refused.output.split())
    assert f"image {image_id} (Ubuntu24) is in account 'prod', which is not configured any more" in said
    assert "pulumi config set --path zomro:accounts.prod.endpoint URL" in said
    assert "pulumi state delete 'urn:pulumi:e2e::zomro-e2e::" in said
    assert emulator.changes() == NOTHING
    assert project.up(check=False).returncode != 0
    assert emulator.changes() == NOTHING and [i["id"] for i in emulator.images()] == [image["id"]]

    # the first way out, literally: configure "prod" again; the move is then a real one
    project.set_account("prod", emulator.url)
    assert "+-" in project.preview().stdout
    project.up()
    assert emulator.changes() == {"orders": 1, "edits": 1, "deletes": 1}
    (moved,) = emulator.images()
    assert moved["account"] == "ops" and moved["id"] != image["id"]

    # the second way out: the image deleted by hand, then `pulumi state delete URN`
    project.run("config", "rm", "--path", "zomro:accounts.ops")
    project.set_account("staging", emulator.url)
    project.declare({"img": {**UBUNTU, "account": "staging"}})
    said = " ".join(project.preview(check=False).output.split())
    urn = re.search(r"pulumi state delete '([^']+)'", said)
    assert urn, said
    emulator.delete(f"images/{moved['id']}")
    project.run("state", "delete", urn.group(1), "--yes")
    emulator.reset_stats()
    project.up()
    assert emulator.changes()["orders"] == 1 and len(emulator.images()) == 1
