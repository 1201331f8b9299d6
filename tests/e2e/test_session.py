"""The API session expires while `up` waits for several new images."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

from harness import UBUNTU, Emulator, Project, Result, diagnostics, make_project

COUNT = 4


class ExpireAfterOrders(threading.Thread):
    """Ends every API session as soon as `count` orders went through, i.e. while
    the provider waits for the new images to become Active."""

    def __init__(self, emulator: Emulator, count: int, timeout: float = 120.0) -> None:
        super().__init__(daemon=True)
        self.emulator, self.count, self.timeout = emulator, count, timeout
        self.expired = -1
        self.seq = 0

    def run(self) -> None:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            log = self.emulator.requests()
            orders = [
                r for r in log if r["func"] == "v2.image.order.param" and r["outcome"] == "ok"
            ]
            if len(orders) >= self.count:
                self.seq = log[-1]["seq"]
                self.expired = int(self.emulator.post("sessions/expire")["expired"])
                return
            time.sleep(0.05)


def assert_progress_lines_whole(text: str) -> None:
    """Progress lines of images waited on in parallel each stay under their own image."""
    blocks = diagnostics(text)
    for n in range(COUNT):
        lines = blocks[f"pulumi-python:dynamic/zomro:Image (img{n})"]
        named = {m for line in lines for m in re.findall(r"Session-\d+", line)}
        assert named == {f"Session-{n}"}, lines


def up_with_expiry(project: Project, emulator: Emulator) -> tuple[Result, ExpireAfterOrders]:
    emulator.faults(activation_delay=3.0)
    project.declare({f"img{i}": {**UBUNTU, "image_name": f"Session-{i}"} for i in range(COUNT)})
    expirer = ExpireAfterOrders(emulator, COUNT)
    expirer.start()
    result = project.up("--parallel", str(COUNT), check=False)
    expirer.join(timeout=5)
    assert expirer.expired >= 1, "the sessions were not expired during the up"
    return result, expirer


def test_with_username_and_password_the_provider_logs_in_again_and_up_succeeds(
    project: Project, emulator: Emulator
) -> None:
    result, expirer = up_with_expiry(project, emulator)
    assert result.returncode == 0, result.output[-4000:]
    assert_progress_lines_whole(result.output)
    images = emulator.images()
    assert len(images) == COUNT and {i["status"] for i in images} == {"Active"}
    log = emulator.requests()
    after = [r for r in log if r["seq"] > expirer.seq]
    assert any(r["outcome"] == "error:access/" for r in after)  # the expiry was noticed
    logins = [r for r in log if r["func"] == "auth"]
    assert [r["outcome"] for r in logins] == ["ok", "ok"]  # one login, one shared re-login
    assert logins[1]["seq"] > expirer.seq
    assert sum(1 for r in log if r["func"] == "v2.image.order.param") == COUNT
    outputs = project.outputs()
    assert sorted(outputs[f"img{i}_id"] for i in range(COUNT)) == sorted(i["id"] for i in images)
    assert len(project.resources()) == COUNT


def test_with_only_a_token_up_fails_clearly_and_names_every_image_it_could_not_delete(
    tmp_path: Path, cli_bin: str, emulator: Emulator
) -> None:
    project = make_project(tmp_path, cli_bin, emulator, login=False)
    project.config("zomro:authToken", emulator.login(), secret=True)
    emulator.reset_stats()
    result, expirer = up_with_expiry(project, emulator)
    assert result.returncode != 0
    text = result.output
    assert "the session token was rejected or has expired" in text
    assert "set a fresh zomro:authToken" in text and "zomro:username and zomro:password" in text
    log = emulator.requests()
    assert not [r for r in log if r["func"] == "auth"]  # a token is never swapped for a login
    assert any(r["outcome"] == "error:access/" for r in log if r["seq"] > expirer.seq)
    assert sum(1 for r in log if r["func"] == "v2.image.order.param") == COUNT
    # Without a live session nothing can be deleted: the images ordered before the
    # expiry stay in the account.  No orphan may be silent: each one the emulator
    # still holds is named in the error, with what to do about it.
    left = sorted(i["id"] for i in emulator.images())
    assert len(left) == COUNT
    for image_id in left:
        assert re.search(rf"adopt_image_id='{image_id}'", text), image_id
    assert project.resources() == []
    assert_progress_lines_whole(text)
