"""Images, sessions, request statistics and the image lifecycle.

Everything mutable lives in one ``EmulatorState`` guarded by one lock, so the
threaded HTTP server needs no finer locking. The lifecycle is computed from
timestamps whenever the state is looked at (``refresh``): no background thread
has to move images from ``Saving`` to ``Active`` or purge deleted ones.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import re
import secrets
import tempfile
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any, Optional

from .config import DEMO_USER, EmulatorConfig

#: The first id the emulator hands out (one after the help page's example).
FIRST_ID = 5206259

#: Statuses with a meaning of their own; any other string is a failure status.
SAVING = "Saving"
ACTIVE = "Active"
DELETING = "Deleting"

#: How many request-log entries are kept.
REQUEST_LOG_SIZE = 10_000

STATE_FILE_VERSION = 1


@dataclass
class Image:
    """One image as the emulator stores it (raw values, not the API's rendering)."""

    id: int
    owner: str
    image_name: str
    region: str
    url: str
    disk_format: str
    os_distro: str
    os_version: str
    architecture: str
    min_disk: int
    min_ram: int
    protected: bool
    pricelist: str
    order_period: str
    fleio_id: str
    created: float
    updated: float
    #: When the current upload started; ``Saving`` lasts activation_delay from here.
    saving_since: float
    #: The status the image ended in (Active or a failure status); None while Saving.
    settled: Optional[str] = None
    #: When deletion was requested; None unless Deleting.
    deleting_since: Optional[float] = None
    #: Size in GB reported once the image is Active.
    image_size: int = 3

    @property
    def status(self) -> str:
        """Saving, Active, Deleting or a failure status (e.g. Killed)."""
        if self.deleting_since is not None:
            return DELETING
        return self.settled or SAVING

    @property
    def busy(self) -> bool:
        """True while an operation (upload or deletion) is running on the image."""
        return self.status in (SAVING, DELETING)


@dataclass
class Session:
    """A session token's owner and when it was last used."""

    user: str
    last_used: float


class StateFileError(RuntimeError):
    """The state file exists but cannot be read."""


class EmulatorState:
    """All mutable emulator state. Hold ``lock`` while touching any attribute."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.lock = threading.RLock()
        self.startup_config = config.copy()
        self.config = config.copy()
        self.images: dict[int, Image] = {}
        self.sessions: dict[str, Session] = {}
        self.next_id = FIRST_ID
        self.counts: Counter[str] = Counter()
        self.mutating = 0
        self.request_log: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)
        self.seq = 0
        self.rng = random.Random(config.seed)
        if config.state_file:
            self.load()

    # --- accounts and sessions -------------------------------------------------

    def check_password(self, user: str, password: str) -> bool:
        """Whether ``user``/``password`` is one of the configured accounts."""
        accounts = self.config.all_accounts()
        return user in accounts and secrets.compare_digest(accounts[user], password)

    def login(self, user: str, password: str, now: float) -> Optional[str]:
        """A new session token for a good login, else None."""
        if not self.check_password(user, password):
            return None
        token = secrets.token_hex(12)
        self.sessions[token] = Session(user, now)
        return token

    def session_user(self, token: str, now: float) -> Optional[str]:
        """The user of a live token (and refresh its idle timer), else None."""
        session = self.sessions.get(token)
        if session is None:
            return None
        if now - session.last_used > self.config.session_idle:
            del self.sessions[token]
            return None
        session.last_used = now
        return session.user

    def expire_sessions(self) -> int:
        """End every session; returns how many there were."""
        count = len(self.sessions)
        self.sessions.clear()
        return count

    def subaccount(self, user: str) -> str:
        """A stable BILLmanager-style subaccount number per account (demo: the page's)."""
        if user == DEMO_USER:
            return "351336"
        others = sorted(set(self.config.all_accounts()) - {DEMO_USER})
        return str(351337 + (others.index(user) if user in others else len(others)))

    # --- lifecycle -----------------------------------------------------------------

    def _matches(self, pattern: Optional[str], name: str) -> bool:
        return bool(pattern) and re.search(pattern or "", name) is not None

    def refresh(self, now: float) -> None:
        """Settle finished uploads and purge finished deletions, as of ``now``."""
        cfg = self.config
        changed = False
        for image in list(self.images.values()):
            if image.deleting_since is not None:
                if now >= image.deleting_since + cfg.delete_delay:
                    del self.images[image.id]
                    changed = True
                continue
            if image.settled is not None or self._matches(cfg.stuck_name, image.image_name):
                continue
            if now >= image.saving_since + cfg.activation_delay:
                killed = self._matches(cfg.kill_name, image.image_name)
                image.settled = cfg.kill_status if killed else ACTIVE
                changed = True
        if changed:
            self.save()

    def new_image(self, owner: str, fields: dict[str, Any], now: float) -> Image:
        """Create an image in ``Saving`` from checked order fields."""
        image = Image(
            id=self.next_id,
            owner=owner,
            image_name=fields["image_name"],
            region=fields["region"],
            url=fields["url"],
            disk_format=fields["disk_format"],
            os_distro=fields["os_distro"],
            os_version=fields.get("os_version", ""),
            architecture=fields["architecture"],
            min_disk=int(fields["min_disk"]),
            min_ram=int(fields["min_ram"]),
            protected=bool(fields["protected"]),
            pricelist=fields["pricelist"],
            order_period=fields.get("order_period", "-50"),
            fleio_id=str(uuid.uuid4()),
            created=now,
            updated=now,
            saving_since=now,
        )
        self.next_id += 1
        self.images[image.id] = image
        return image

    def set_status(self, image: Image, status: str, now: float) -> None:
        """Force a status out of band (admin): Saving restarts the upload."""
        if status == DELETING:
            image.deleting_since = now
            return
        image.deleting_since = None
        if status == SAVING:
            image.settled = None
            image.saving_since = now
        else:
            image.settled = status

    def visible_image(self, owner: str, image_id: str) -> Optional[Image]:
        """The caller's image with that id (as sent in a form), if it still exists."""
        if not image_id.strip().isdigit():
            return None
        image = self.images.get(int(image_id.strip()))
        if image is None or image.owner != owner:
            return None
        return image

    # --- statistics ----------------------------------------------------------------

    def record(self, entry: dict[str, Any]) -> None:
        """Append a request-log entry (the caller has masked credentials)."""
        self.seq += 1
        entry["seq"] = self.seq
        self.request_log.append(entry)

    def reset_stats(self) -> None:
        """Zero the counters and clear the request log."""
        self.counts.clear()
        self.mutating = 0
        self.request_log.clear()

    def reset(self) -> None:
        """Back to start-up: no images, sessions or stats; start-up settings."""
        self.images.clear()
        self.sessions.clear()
        self.reset_stats()
        self.config = self.startup_config.copy()
        self.rng = random.Random(self.config.seed)
        self.save()

    # --- persistence ---------------------------------------------------------------

    def save(self) -> None:
        """Write images to the state file, atomically (no-op without a state file)."""
        path = self.config.state_file
        if not path:
            return
        data = {
            "version": STATE_FILE_VERSION,
            "next_id": self.next_id,
            "images": [dataclasses.asdict(img) for img in self.images.values()],
        }
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".zomro-emulator-", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=1)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def load(self) -> None:
        """Read images from the state file if it exists."""
        path = self.config.state_file
        if not path or not os.path.exists(path):
            return
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
            images = [Image(**raw) for raw in data["images"]]
            next_id = int(data["next_id"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StateFileError(f"cannot read state file {path}: {exc}") from exc
        self.images = {img.id: img for img in images}
        self.next_id = max([next_id, *(img.id + 1 for img in images)])


def now() -> float:
    """Wall-clock time: the lifecycle must keep running across restarts."""
    return time.time()
