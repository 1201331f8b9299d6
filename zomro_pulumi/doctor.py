"""`zomro-pulumi doctor`: check the provider's assumptions against a real account.

Several answers of the Zomro API are undocumented, so the provider copes with
every plausible shape.  Doctor tells which guesses hold for one account, and
only ever reads: `auth` (when logging in), `whoami`, the image list (`image`,
paged) and the single view (`image.edit` without `sok`) of one listed image
and of a missing id.  It never orders, edits or deletes.

The checks (`doctor_checks.CHECKS`) run in order and add plain `Check`s, so the
text and the `--json` output are two renderings of one list; every `seen` text
is scrubbed of the credentials, and the settings are shown by where they came
from, never by a credential's value.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections import Counter
from collections.abc import Mapping
from typing import Any, Optional, TextIO

from .clock import SYSTEM_CLOCK, Clock
from .doctor_checks import CHECKS, FAIL, NOT_DIRECT, OK, UNKNOWN, Check, Visit, field_check
from .settings import SECRET_ATTRS, ProviderSettings

__all__ = [
    "FAIL", "NOT_DIRECT", "OK", "UNKNOWN", "Check", "Report", "field_check", "print_report",
    "run", "settings_rows",
]

MARKS = {OK: "✓", FAIL: "✗", UNKNOWN: "?"}
# For a terminal that cannot print the marks above.
ASCII_MARKS = {OK: "+", FAIL: "x", UNKNOWN: "?"}
# attribute -> the name a person sets it by
SHOWN = {"endpoint": "endpoint", "username": "username", "password": "password",
         "token": "authToken", "trace": "trace"}


@dataclasses.dataclass
class Report:
    """Every check of one run, in order, the settings used, and where the run ended."""

    endpoint: str
    auth: str
    checks: list[Check] = dataclasses.field(default_factory=list)
    stopped: Optional[str] = None
    settings: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)
    """(name, value or `***`, where it came from) of each setting in use."""

    @property
    def ok(self) -> bool:
        """Everything the provider needs holds: no ✗ and the run was not cut short."""
        return self.stopped is None and all(c.status != FAIL for c in self.checks)

    @property
    def exit_status(self) -> int:
        return 0 if self.ok else 1

    def counts(self) -> dict[str, int]:
        found = Counter(c.status for c in self.checks)
        return {status: found.get(status, 0) for status in (OK, UNKNOWN, FAIL)}

    def to_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "auth": self.auth,
            "settings": [{"name": n, "value": v, "source": s} for n, v, s in self.settings],
            "ok": self.ok,
            "exit_status": self.exit_status,
            "stopped": self.stopped,
            "counts": self.counts(),
            "checks": [
                {"name": c.name, "status": c.status, "mark": MARKS[c.status], "seen": c.seen}
                for c in self.checks
            ],
        }

    def render(self, marks: Mapping[str, str] = MARKS) -> str:
        lines = [f"zomro-pulumi doctor: {self.endpoint} (auth: {self.auth})"]
        lines += [f"  {name}: {value} ({source})" for name, value, source in self.settings]
        lines += [f"{marks[c.status]} {c.name}: {c.seen}" for c in self.checks]
        counts = self.counts()
        summary = (
            f"{counts[OK]} {marks[OK]}, {counts[UNKNOWN]} {marks[UNKNOWN]}, "
            f"{counts[FAIL]} {marks[FAIL]}: "
        )
        if self.stopped:
            summary += f"stopped early: {self.stopped}"
        elif self.ok and counts[UNKNOWN]:
            summary += "everything the provider needs holds; please report the ? lines"
        elif self.ok:
            summary += "everything the provider needs holds"
        else:
            summary += "the provider will not work as it is against this API"
        return "\n".join([*lines, summary])


def settings_rows(settings: ProviderSettings) -> list[tuple[str, str, str]]:
    """(name, value, source) of each setting in use; credentials as `***`."""
    rows = [("account", settings.account, "flag --account")] if settings.account else []
    for attr, name in SHOWN.items():
        value = getattr(settings, attr)
        if value:
            shown = "***" if attr in SECRET_ATTRS else str(value)
            rows.append((name, shown, str(settings.source(attr))))
    return rows


def _auth_kind(settings: ProviderSettings) -> str:
    login = bool(settings.username and settings.password)
    if settings.token:
        return "token (login checked too)" if login else "token"
    return "login" if login else "none"


def run(
    settings: ProviderSettings, *, timeout: float = 30.0, clock: Clock = SYSTEM_CLOCK
) -> Report:
    """All checks against the account `settings` describe, in order."""
    visit = Visit(settings, timeout, clock)
    report = Report(settings.endpoint, _auth_kind(settings), settings=settings_rows(settings))
    if not settings.has_credentials:
        visit.stop("no credentials")
    try:
        for check in CHECKS:
            if visit.stopped:
                break
            check(visit)
    finally:
        for client in visit.opened:
            client.close()
        if visit.trace is not None:
            visit.trace.close()
    report.checks, report.stopped = visit.checks, visit.stopped
    return report


def print_report(report: Report, *, as_json: bool, out: Optional[TextIO] = None) -> None:
    """Text (or JSON) on `out`; plain ASCII marks when the terminal cannot show ✓/✗."""
    out = out or sys.stdout
    if as_json:
        out.write(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n")
        return
    text = report.render()
    encoding = getattr(out, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except LookupError:
        pass
    except UnicodeEncodeError:
        text = report.render(ASCII_MARKS).encode(encoding, "replace").decode(encoding)
    out.write(text + "\n")
