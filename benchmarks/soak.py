"""Chaos soak: many seeded fault schedules through the real CLI, invariants after every run.

    .venv/bin/python benchmarks/soak.py --seeds 50          # seeds 1..50
    .venv/bin/python benchmarks/soak.py --first 100 --seeds 20
    make soak                                                # SEEDS=50 make soak

Each seed is one schedule of `harness.chaos` (the same the e2e chaos test runs for
three fixed seeds): it prints a line per schedule, then how many schedules and how
many invariant checks passed, and, last, the same as one JSON object.  Exit status 1
when any invariant failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import pulumi_bin
from harness.chaos import make_schedule, run_schedule


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20, help="how many schedules (default 20)")
    parser.add_argument("--first", type=int, default=1, help="the first seed (default 1)")
    args = parser.parse_args(argv)
    cli = pulumi_bin()
    started = time.monotonic()
    schedules = checks = failed_checks = 0
    failures: list[dict[str, object]] = []
    for seed in range(args.first, args.first + args.seeds):
        schedule = make_schedule(seed)
        with tempfile.TemporaryDirectory(prefix=f"zomro-soak-{seed}-") as tmp:
            began = time.monotonic()
            outcome = run_schedule(schedule, Path(tmp), cli)
        schedules += 1
        checks += outcome.checks
        failed_checks += len(outcome.violations)
        mark = "ok " if not outcome.violations else "FAIL"
        print(f"{mark} seed {seed}: {outcome.checks} checks, {time.monotonic() - began:.0f}s, "
              f"runs {outcome.steps}; {schedule.describe()}", flush=True)
        for violation in outcome.violations:
            print(f"     {violation}", flush=True)
        if outcome.violations:
            failures.append({"seed": seed, "violations": outcome.violations})
    passed = schedules - len(failures)
    print(f"{passed}/{schedules} schedules and {checks - failed_checks}/{checks} invariant checks "
          f"passed in {time.monotonic() - started:.0f}s")
    print(json.dumps({"schedules": schedules, "schedules_passed": passed, "checks": checks,
                      "checks_passed": checks - failed_checks, "failures": failures}))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
