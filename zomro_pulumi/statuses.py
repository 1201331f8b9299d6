"""Every status word the provider may meet, and what each means to it.

The help page shows only `Saving` and `Active`.  Zomro Cloud runs on Fleio over
OpenStack, so the other words are most likely Glance's image states; the billing
item carries numeric states beside them.  Each word has one home here, and the
README's status table is checked against `STATUS_WORDS`.  A word nobody listed
is waited on (it may be a step of an upload), and named once in a progress line.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Optional


class Phase(enum.Enum):
    """What a status means for waiting, refreshing and deleting."""

    ACTIVE = "active"
    """Usable: a create's wait ends successfully."""
    PENDING = "pending"
    """On its way: waited on until the create timeout."""
    FAILED = "failed"
    """Will never become Active: a create's wait ends with a failure (and cleanup)."""
    GONE = "gone"
    """Deleted or being deleted: refresh drops it, a delete has nothing left to do."""


@dataclasses.dataclass(frozen=True)
class StatusWord:
    word: str
    phase: Phase
    meaning: str


STATUS_WORDS: tuple[StatusWord, ...] = (
    StatusWord("active", Phase.ACTIVE, "ready to use"),
    StatusWord("saving", Phase.PENDING, "the image file is being uploaded (the help page's first status)"),
    StatusWord("queued", Phase.PENDING, "accepted, upload not started yet (Glance)"),
    StatusWord("importing", Phase.PENDING, "the file is being imported (Glance)"),
    StatusWord("uploading", Phase.PENDING, "the file is being uploaded"),
    StatusWord("killed", Phase.FAILED, "the upload failed (Glance)"),
    StatusWord("error", Phase.FAILED, "the platform reported an error"),
    StatusWord("failed", Phase.FAILED, "the platform reported a failure"),
    StatusWord("deactivated", Phase.FAILED, "exists but cannot be used (Glance)"),
    StatusWord("suspended", Phase.FAILED, "the billing item is suspended"),
    StatusWord("deleting", Phase.GONE, "a deletion is under way"),
    StatusWord("pending_delete", Phase.GONE, "deleted, not yet purged (Glance)"),
    StatusWord("deleted", Phase.GONE, "deleted (Glance)"),
)

BY_WORD: Mapping[str, StatusWord] = {s.word: s for s in STATUS_WORDS}

# Billing item states (`item_status` `$orig`, `status`): used when no status word is present.
ITEM_STATUSES: Mapping[str, Phase] = {
    "1": Phase.PENDING,  # ordered
    "2": Phase.ACTIVE,  # active
    "3": Phase.FAILED,  # suspended
    "4": Phase.GONE,  # deleted
    "5": Phase.PENDING,  # processing
}


def _key(word: str) -> str:
    return word.strip().lower().replace(" ", "_").replace("-", "_")


def is_known(word: Optional[str]) -> bool:
    """Whether a status word is in the table (case, blanks and dashes ignored)."""
    return bool(word) and _key(word or "") in BY_WORD


def phase_of(word: Optional[str], item_status: Optional[str] = None) -> Phase:
    """The phase of an image from its status word, else its billing item state."""
    if word and word.strip():
        known = BY_WORD.get(_key(word))
        return known.phase if known else Phase.PENDING
    return ITEM_STATUSES.get((item_status or "").strip(), Phase.PENDING)
