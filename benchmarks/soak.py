"""Chaos soak: many seeded fault schedules through the real CLI, invariants after every run.

    .venv/bin/python benchmarks/soak.py --seeds 50          # seeds 1..50
    .venv/bin/python benchmarks/soak.py --first 100 --seeds 20
    .venv/bin/python benchmarks/soak.py --seeds 40 --jobs 2  # two schedules at a time
    make soak                                                # SEEDS=50 make soak

Each seed is one schedule of `harness.chaos` (the same the e2e chaos test runs for
three fixed seeds): it prints a line per schedule, then how many schedules and how
many invariant checks passed, how many images were orphaned (in no state, named by
no run) and how many a destroy left behind (each named by a run), and, last, the
same as one JSON object.  Exit status 1 when any invariant failed.  With `--jobs N`,
N schedules run at once (each has its own emulator, stacks and backend); most of a
schedule is waiting, so two at a time take about half as long on 2 cores.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import pulumi_bin
from harness.chaos import Outcome, Schedule, make_schedule, run_schedule


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20, help="how many schedules (default 20)")
    parser.add_argument("--first", type=int, default=1, help="the first seed (default 1)")
    parser.add_argument("--jobs", type=int, default=1, help="schedules at a time (default 1)")
    args = parser.parse_args(argv)
    cli = pulumi_bin()
    started = time.monotonic()
    schedules = checks = failed_checks = 0
    failures: list[dict[str, object]] = []
    orphans = left = 0

    def play(seed: int) -> tuple[Schedule, Outcome, float]:
        schedule = make_schedule(seed)
        with tempfile.TemporaryDirectory(prefix=f"zomro-soak-{seed}-") as tmp:
            began = time.monotonic()
            return schedule, run_schedule(schedule, Path(tmp), cli), time.monotonic() - began

    seeds = range(args.first, args.first + args.seeds)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for schedule, outcome, took in pool.map(play, seeds):
            schedules += 1
            checks += outcome.checks
            failed_checks += len(outcome.violations)
            orphans += outcome.orphans
            left += outcome.left
            mark = "ok " if not outcome.violations else "FAIL"
            print(f"{mark} seed {schedule.seed}: {outcome.checks} checks, {took:.0f}s, "
                  f"runs {outcome.steps}, {outcome.left} left named; {schedule.describe()}",
                  flush=True)
            for violation in outcome.violations:
                print(f"     {violation}", flush=True)
            if outcome.violations:
                failures.append({"seed": schedule.seed, "violations": outcome.violations})
    passed = schedules - len(failures)
    print(f"{passed}/{schedules} schedules and {checks - failed_checks}/{checks} invariant checks "
          f"passed in {time.monotonic() - started:.0f}s; {orphans} images orphaned, {left} left "
          "after destroy, each named by a run")
    print(json.dumps({"schedules": schedules, "schedules_passed": passed, "checks": checks,
                      "checks_passed": checks - failed_checks, "orphans": orphans,
                      "left_named": left, "failures": failures}))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
