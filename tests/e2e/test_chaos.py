"""Seeded chaos: fault schedules through the real CLI, invariants after every run.

Each seed draws a schedule (see `harness.chaos`): order answers with or without
ids, names shared by several images, one stack or two on one account, answers
lost before and after the API acted, late answers, failing, cut-short and
self-contradicting lists, pages capped without paging fields, names stored cut
(below and above the token's length), case-folded or trimmed, and lost orders
that land at once or after their create ordered again and returned, an image
list filtered in the panel, and an account renamed in the config and the program.
The seeds here
are fixed so that together they cover every dimension; `make soak` runs many.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.chaos import make_schedule, run_schedule

SEEDS = (9, 13, 16, 20)


def test_the_fixed_seeds_cover_every_dimension() -> None:
    schedules = [make_schedule(seed) for seed in SEEDS]
    assert {len(s.stacks) for s in schedules} == {1, 2}
    assert {s.emulator["order_reply"] == "none" for s in schedules} == {True, False}
    assert any(s.emulator["omit_paging_fields"] and s.emulator["max_page_size"] for s in schedules)
    assert any(s.faults["late_rate"] for s in schedules)
    assert any(s.faults["list_fault_rate"] for s in schedules)
    assert all(
        len({i["image_name"] for i in s.images.values()}) < len(s.images) for s in schedules
    )
    cuts = {s.emulator.get("name_cut", 0) for s in schedules}
    assert any(0 < cut < 19 for cut in cuts) and any(cut >= 19 for cut in cuts)
    assert any(s.emulator.get("name_case", "kept") != "kept" for s in schedules)
    assert any(s.emulator.get("name_trim") for s in schedules)
    landings = {s.faults.get("lost_order_lands_after") for s in schedules}
    assert 0.0 in landings and any(t and t > 15 for t in landings)  # late: after a re-order
    assert any(
        s.faults.get("list_filter") and "Debian12" in {i["image_name"] for i in s.images.values()}
        for s in schedules
    )
    assert any(s.renamed for s in schedules)


@pytest.mark.parametrize("seed", SEEDS)
def test_invariants_hold_under_a_fault_schedule(seed: int, tmp_path: Path, cli_bin: str) -> None:
    outcome = run_schedule(make_schedule(seed), tmp_path, cli_bin)
    assert outcome.violations == [], (outcome.schedule.describe(), outcome.steps)
    assert outcome.checks > 20
