"""The emulator's model: images, sessions, request statistics and every change to them.

Everything mutable lives in one ``EmulatorState`` guarded by one re-entrant lock,
and every change (an order, an edit, a deletion, the lifecycle, the admin side's
out-of-band changes, sessions, settings, statistics) is a method here: the request
handlers in ``api.py`` and ``admin.py`` only parse, call these methods and render.
The lifecycle is computed from timestamps whenever the state is looked at
(``refresh``): no background thread has to settle uploads or purge deletions.
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
from typing import Any, Callable, Optional

from .config import DEMO_USER, QUEUED_WORD, EmulatorConfig

#: The first id the emulator hands out (one after the help page's example).
FIRST_ID = 5206259

#: The lifecycle's phases, named by the help page's words. What ``fleio_status``
#: shows for each is a setting; any other stored status is a failure status.
SAVING = "Saving"
ACTIVE = "Active"
DELETING = "Deleting"

#: How many request-log entries are kept.
REQUEST_LOG_SIZE = 10_000

STATE_FILE_VERSION = 1

#: Order fields an image is made of (the admin side may set them all).
IMAGE_FIELDS = (
    "image_name",
    "region",
    "url",
    "disk_format",
    "os_distro",
    "os_version",
    "architecture",
    "min_disk",
    "min_ram",
    "protected",
    "pricelist",
    "order_period",
)


@dataclass
class StoredImage:
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
    #: When the current upload was ordered; the image is queued, then saving, from here.
    saving_since: float
    #: The status the image ended in (Active or a failure status); None while Saving.
    settled: Optional[str] = None
    #: When deletion was requested; None unless Deleting.
    deleting_since: Optional[float] = None
    #: Size in GB reported once the image is Active.
    image_size: int = 3

    @property
    def status(self) -> str:
        """The phase: Saving, Active, Deleting, or a failure status (e.g. Killed)."""
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


@dataclass
class Fault:
    """The faults drawn for one API request (the defaults: none)."""

    #: The transient fault (``5xx``, ``drop``, ``runningoperation``), if any.
    kind: Optional[str] = None
    #: Whether it strikes after the change was made (order, confirmed edit, delete).
    after_change: bool = False
    #: The HTTP status of a ``5xx`` fault.
    code: int = 0
    #: How a mutating request is late (``answer`` or ``act``), if it is.
    late: Optional[str] = None
    #: Seconds it is late by.
    late_s: float = 0.0
    #: How an image list answer contradicts itself, if it does.
    list_fault: Optional[str] = None
    #: A number in [0, 1) that picks which element(s) a list fault touches.
    pick: float = 0.0


class FaultDraws:
    """The random streams faults are drawn from, one per family, all from one seed.

    Each family has its own stream so switching one on does not change another's
    schedule; the transient stream is ``random.Random(seed)`` itself. While a family
    is on, every API request draws the same count of numbers from its stream
    whatever the outcome, so a seed reproduces a schedule for a given request order.
    """

    def __init__(self, seed: Optional[int]) -> None:
        self.transient = random.Random(seed)
        self.late = random.Random(None if seed is None else f"late:{seed}")
        self.list = random.Random(None if seed is None else f"list:{seed}")

    def draw(self, cfg: EmulatorConfig, func: str, mutating: bool) -> Fault:
        """The faults of one API request under the current settings."""
        fault = Fault()
        if cfg.transient_rate > 0 and cfg.transient_kinds:
            rng = self.transient
            hit = rng.random() < cfg.transient_rate
            kind = rng.choice(cfg.transient_kinds)
            after = rng.random() < 0.5
            code = rng.choice((502, 503))
            struck = not cfg.transient_funcs or func in cfg.transient_funcs
            if hit and struck and not (kind == "runningoperation" and func == "auth"):
                fault.kind, fault.code = kind, code
                fault.after_change = after and mutating and kind != "runningoperation"
        if cfg.late_rate > 0 and cfg.late_kinds:
            hit = self.late.random() < cfg.late_rate
            late = self.late.choice(cfg.late_kinds)
            if hit and mutating and fault.kind is None:
                fault.late, fault.late_s = late, cfg.late_s
        if cfg.list_fault_rate > 0 and cfg.list_fault_kinds:
            hit = self.list.random() < cfg.list_fault_rate
            kind = self.list.choice(cfg.list_fault_kinds)
            fault.pick = self.list.random()
            if hit and func == "image" and fault.kind is None:
                fault.list_fault = kind
        return fault


class Refused(Exception):
    """A change the image's current state does not allow; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


#: ``Refused.reason`` values.
BUSY = "busy"
PROTECTED = "protected"


class StateFileError(RuntimeError):
    """The state file exists but cannot be read."""


class EmulatorState:
    """All mutable emulator state. Hold ``lock`` while reading any attribute; the
    methods that change something take it themselves."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.lock = threading.RLock()
        self.startup_config = config.copy()
        self.config = config.copy()
        self.images: dict[int, StoredImage] = {}
        self.sessions: dict[str, Session] = {}
        self.next_id = FIRST_ID
        self.counts: Counter[str] = Counter()
        self.mutating = 0
        self.request_log: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)
        self.seq = 0
        self.draws = FaultDraws(config.seed)
        #: Every API order that created an image, oldest first (``GET /_emulator/orders``).
        self.orders: list[dict[str, Any]] = []
        #: Every deletion started through the API or done by the admin side, oldest
        #: first (``GET /_emulator/deletions``).
        self.deletions: list[dict[str, Any]] = []
        #: Requests the backend carries out later (orders that land after a lost answer).
        self.timers: list[threading.Timer] = []
        if config.state_file:
            self.load()

    # --- accounts and sessions -------------------------------------------------

    def check_password(self, user: str, password: str) -> bool:
        """Whether ``user``/``password`` is one of the configured accounts."""
        accounts = self.config.all_accounts()
        return user in accounts and secrets.compare_digest(accounts[user], password)

    def login(self, user: str, password: str, now: float) -> Optional[str]:
        """A new session token for a good login, else None."""
        with self.lock:
            if not self.check_password(user, password):
                return None
            token = secrets.token_hex(12)
            self.sessions[token] = Session(user, now)
            return token

    def session_user(self, token: str, now: float) -> Optional[str]:
        """The user of a live token (and refresh its idle timer), else None."""
        with self.lock:
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
        with self.lock:
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
        with self.lock:
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
                if now >= image.saving_since + cfg.queued_for + cfg.activation_delay:
                    killed = self._matches(cfg.kill_name, image.image_name)
                    image.settled = cfg.kill_status if killed else ACTIVE
                    changed = True
            if changed:
                self.save()

    def status_word(self, image: StoredImage, now: float) -> str:
        """What ``fleio_status`` shows for the image: the configured word of its phase
        (``queued`` during ``queued_for`` after an order), or its failure status."""
        cfg = self.config
        phase = image.status
        if phase == SAVING:
            queued = now < image.saving_since + cfg.queued_for
            return QUEUED_WORD if queued else cfg.saving_status
        if phase == ACTIVE:
            return cfg.active_status
        if phase == DELETING:
            return cfg.deleting_status
        return phase

    # --- reading ---------------------------------------------------------------------

    def visible_image(self, owner: str, image_id: str) -> Optional[StoredImage]:
        """The caller's image with that id (as sent in a form), if it still exists."""
        if not image_id.strip().isdigit():
            return None
        image = self.images.get(int(image_id.strip()))
        if image is None or image.owner != owner:
            return None
        return image

    def images_of(self, owner: str) -> list[StoredImage]:
        """The account's images, by id."""
        return sorted((img for img in self.images.values() if img.owner == owner), key=_by_id)

    def all_images(self) -> list[StoredImage]:
        """Every account's images, by id."""
        return sorted(self.images.values(), key=_by_id)

    def find(self, image_id: str) -> Optional[StoredImage]:
        """Any account's image by its id (as text), if it exists."""
        return self.images.get(int(image_id)) if image_id.isdigit() else None

    # --- changes through the API -----------------------------------------------------

    def order(self, owner: str, fields: dict[str, Any], now: float) -> StoredImage:
        """A new image of ``owner`` from checked order fields, saving from ``now``;
        remembered in ``orders``."""
        with self.lock:
            image = self._new_image(owner, fields, now)
            self.orders.append(
                {
                    "id": str(image.id),
                    "image_name": image.image_name,
                    "account": owner,
                    "time": round(now, 3),
                }
            )
            return image

    def _new_image(self, owner: str, fields: dict[str, Any], now: float) -> StoredImage:
        with self.lock:
            image = StoredImage(
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
            self.save()
            return image

    def edit(self, image: StoredImage, changes: dict[str, Any], now: float) -> None:
        """Apply checked editable fields; refused (``busy``) while an operation runs."""
        with self.lock:
            if image.busy:
                raise Refused(BUSY)
            for name, value in changes.items():
                setattr(image, name, value)
            image.updated = now
            self.save()

    def start_delete(self, image: StoredImage, now: float) -> None:
        """Start deleting; refused while already deleting or while protected."""
        with self.lock:
            if image.deleting_since is not None:
                raise Refused(BUSY)
            if image.protected:
                raise Refused(PROTECTED)
            self._note_deletion(image, now, "api")
            image.deleting_since = now
            image.updated = now
            self.save()

    # --- changes behind the API's back (admin) ----------------------------------------

    def admin_defaults(self) -> dict[str, Any]:
        """The fields of an out-of-band image nobody gave: the help page's order."""
        cfg = self.config
        accounts = sorted(cfg.all_accounts())
        return {
            "image_name": "image",
            "region": cfg.regions[0] if cfg.regions else "Netherlands-2",
            "url": "https://releases.ubuntu.com/24.04/ubuntu-24.04-live-server-amd64.iso",
            "disk_format": "iso",
            "os_distro": "ubuntu",
            "os_version": "",
            "architecture": "x86_64",
            "min_disk": 1,
            "min_ram": 1,
            "protected": False,
            "pricelist": cfg.pricelists[0],
            "order_period": "-50",
            "account": DEMO_USER if DEMO_USER in accounts else accounts[0],
        }

    def admin_create(self, fields: dict[str, Any], now: float) -> StoredImage:
        """An image made out of band from checked fields (defaults for the rest);
        Active unless ``status`` says otherwise."""
        with self.lock:
            merged = {**self.admin_defaults(), **fields}
            image = self._new_image(merged["account"], merged, now)
            self._apply_extra(image, {"status": ACTIVE, **merged}, now)
            self.save()
            return image

    def admin_patch(self, image: StoredImage, fields: dict[str, Any], now: float) -> None:
        """Change checked fields out of band; a ``status`` of Saving restarts the upload."""
        with self.lock:
            for name in IMAGE_FIELDS:
                if name in fields:
                    setattr(image, name, fields[name])
            self._apply_extra(image, fields, now)
            image.updated = now
            self.save()

    def admin_delete(self, image: StoredImage, now: float) -> None:
        """Remove at once, whatever the protection or the lifecycle; remembered in
        ``deletions``."""
        with self.lock:
            self._note_deletion(image, now, "admin")
            self.images.pop(image.id, None)
            self.save()

    def _note_deletion(self, image: StoredImage, now: float, via: str) -> None:
        """Remember a deletion with the phase the image was in when it started, so a
        test can check what was deleted in which state (e.g. never an Active one)."""
        self.deletions.append(
            {
                "id": str(image.id),
                "image_name": image.image_name,
                "account": image.owner,
                "status": image.status,
                "fleio_status": self.status_word(image, now),
                "via": via,
                "time": round(now, 3),
            }
        )

    def _apply_extra(self, image: StoredImage, fields: dict[str, Any], now: float) -> None:
        if "account" in fields:
            image.owner = fields["account"]
        if "image_size" in fields:
            image.image_size = fields["image_size"]
        if "fleio_id" in fields:
            image.fleio_id = fields["fleio_id"]
        if "status" in fields:
            self.set_status(image, fields["status"], now)

    def set_status(self, image: StoredImage, status: str, now: float) -> None:
        """Force a phase out of band: Saving restarts the upload (queue included),
        Deleting starts a deletion, anything else settles the image in it."""
        with self.lock:
            if status == DELETING:
                if image.deleting_since is None:
                    self._note_deletion(image, now, "admin")
                image.deleting_since = now
                return
            image.deleting_since = None
            if status == SAVING:
                image.settled = None
                image.saving_since = now
            else:
                image.settled = status

    # --- settings and requests -----------------------------------------------------------

    def apply_settings(self, values: dict[str, Any]) -> None:
        """Change checked runtime settings; a new ``seed`` re-seeds every fault stream."""
        with self.lock:
            for name, value in values.items():
                setattr(self.config, name, value)
            if "seed" in values:
                self.draws = FaultDraws(values["seed"])

    def begin_request(self, func: str, mutating: bool) -> Fault:
        """Count an API request and draw its faults (in arrival order, under the lock)."""
        with self.lock:
            self.counts[func] += 1
            self.mutating += int(mutating)
            return self.draws.draw(self.config, func, mutating)

    def lose_order(self, image_name: str) -> bool:
        """Whether an order of this name is one `lose_order_name` loses (answered
        HTTP 502, not made); counts it against `lose_orders`."""
        with self.lock:
            cfg = self.config
            if not cfg.lose_order_name or cfg.lose_orders <= 0:
                return False
            if not self._matches(cfg.lose_order_name, image_name):
                return False
            cfg.lose_orders -= 1
            return True

    def later(self, seconds: float, action: Callable[[], Any]) -> None:
        """Run ``action`` (an API request made by the backend after its answer was
        lost) ``seconds`` from now, unless the emulator is reset first."""
        timer = threading.Timer(seconds, action)
        timer.daemon = True
        with self.lock:
            self.timers = [t for t in self.timers if t.is_alive()] + [timer]
        timer.start()

    def record(self, entry: dict[str, Any]) -> int:
        """Append a request-log entry (the caller has masked credentials); its number."""
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            self.request_log.append(entry)
            return self.seq

    def reset_stats(self) -> None:
        """Zero the counters and clear the request log."""
        with self.lock:
            self.counts.clear()
            self.mutating = 0
            self.request_log.clear()

    def reset(self) -> None:
        """Back to start-up: no images, sessions, stats, orders or deletions; start-up
        settings (the fault streams re-seeded)."""
        with self.lock:
            self.images.clear()
            self.sessions.clear()
            self.reset_stats()
            self.orders.clear()
            self.deletions.clear()
            for timer in self.timers:
                timer.cancel()
            self.timers.clear()
            self.config = self.startup_config.copy()
            self.draws = FaultDraws(self.config.seed)
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
            images = [StoredImage(**raw) for raw in data["images"]]
            next_id = int(data["next_id"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StateFileError(f"cannot read state file {path}: {exc}") from exc
        self.images = {img.id: img for img in images}
        self.next_id = max([next_id, *(img.id + 1 for img in images)])


def _by_id(image: StoredImage) -> int:
    return image.id


def now() -> float:
    """Wall-clock time: the lifecycle must keep running across restarts."""
    return time.time()
