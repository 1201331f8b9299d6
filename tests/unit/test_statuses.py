"""Every status word has one meaning, and the README's table says the same."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from zomro_pulumi.statuses import STATUS_WORDS, Phase, is_known, phase_of

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_status_table_matches_the_table_in_the_code() -> None:
    text = README.read_text()
    section = text[text.index("### Status words") :]
    rows = re.findall(r"^\| `([a-z_]+)` \| (\w+) \| (.+?) \|$", section, re.MULTILINE)
    assert rows == [(s.word, s.phase.value, s.meaning) for s in STATUS_WORDS]


@pytest.mark.parametrize(
    ("word", "phase"),
    [
        ("Active", Phase.ACTIVE),
        ("Saving", Phase.PENDING),
        ("queued", Phase.PENDING),
        ("Killed", Phase.FAILED),
        ("error", Phase.FAILED),
        ("deactivated", Phase.FAILED),
        ("deleted", Phase.GONE),
        ("Pending-Delete", Phase.GONE),
        ("pending delete", Phase.GONE),
        ("deleting", Phase.GONE),
        ("Defragmenting", Phase.PENDING),
    ],
)
def test_each_word_has_its_phase(word: str, phase: Phase) -> None:
    assert phase_of(word) is phase


def test_an_unknown_word_is_pending_and_not_known() -> None:
    assert not is_known("Defragmenting") and phase_of("Defragmenting") is Phase.PENDING
    assert is_known("PENDING_DELETE")


@pytest.mark.parametrize(
    ("item_status", "phase"),
    [("1", Phase.PENDING), ("2", Phase.ACTIVE), ("3", Phase.FAILED), ("4", Phase.GONE),
     ("5", Phase.PENDING), (None, Phase.PENDING)],
)
def test_without_a_word_the_billing_state_decides(item_status: str, phase: Phase) -> None:
    assert phase_of(None, item_status) is phase
    assert phase_of("  ", item_status) is phase


def test_a_word_wins_over_the_billing_state() -> None:
    # a failed upload keeps its billing item "processing" (5) with the word Killed
    assert phase_of("Killed", "5") is Phase.FAILED
    assert phase_of("Active", "5") is Phase.ACTIVE
