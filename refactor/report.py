"""The outcome of a run as a count: the summary line and the exit code (one object owns both).

Exit codes: 0 nothing left to do, 1 findings remain (at or above --failure-threshold) or
--check/--diff would change something, 2 an error (a file that could not be read, parsed or written).
"""

from __future__ import annotations

from refactor.results import FileResult
from refactor.settings import Settings

_SEVERITY = {"info": 0, "style": 0, "warning": 1, "error": 2, "none": 3}  # --failure-threshold none: never


class Report:
    """What the summary line and the exit code need, accumulated file by file."""

    def __init__(self, exit_zero: bool = False) -> None:
        self.exit_zero = exit_zero  # --exit-zero: 0 even when findings remain (errors still 2)
        self.files = self.findings = self.files_with = self.errors = self.changed = 0
        self.remaining = self.fixable_safe = self.fixable_unsafe = 0
        self.migrated: set[str] = set()
        self.by_rule: dict[str, int] = {}

    def add(self, r: FileResult, settings: Settings) -> None:
        self.files += 1
        threshold = _SEVERITY.get(settings.failure_threshold, 0)
        for f in r.findings:
            self.by_rule[f.code] = self.by_rule.get(f.code, 0) + 1
        self.findings += len(r.findings)
        self.files_with += bool(r.findings)
        self.errors += r.status == "error"
        done = settings.mode != "write" or r.status == "ok"  # a refused or failed write changed nothing
        self.changed += bool(r.changed) and done
        if done:
            self.migrated.update(r.migrated)
        for f in r.findings:
            if not (f.fix is not None and f.fix.applied and settings.mode == "write"):
                self.remaining += _SEVERITY.get(f.severity, 0) >= threshold
            if f.fix and not f.fix.applied:
                self.fixable_safe += f.fix.applicability == "safe"
                self.fixable_unsafe += f.fix.applicability == "unsafe"

    def exit_code(self, settings: Settings) -> int:
        if self.errors:
            return 2
        if self.exit_zero:
            return 0
        if settings.mode == "write":
            return 1 if self.remaining else 0
        if settings.mode == "diff":
            return 1 if self.changed else 0  # the patch is the answer: 1 when there is one
        if settings.mode == "check":
            return 1 if self.changed or self.remaining else 0
        return 1 if self.remaining else 0

    def summary(self, settings: Settings) -> str:
        parts = [f"{self.files} file(s) scanned, {self.findings} finding(s) in {self.files_with} file(s)"]
        if self.by_rule:
            parts[0] += " (" + ", ".join(f"{c} {n}" for c, n in sorted(self.by_rule.items())) + ")"
        if settings.mode == "write":
            parts.append(f"{self.changed} file(s) rewritten")
            if self.migrated:
                parts.append(f"{len(self.migrated)} secret(s) migrated")
                parts.append("rotate every migrated secret that was already used in pushed images")
        elif settings.mode in ("diff", "check"):
            parts.append(f"{self.changed} file(s) would change")
        if settings.mode != "write" and self.fixable_safe:
            parts.append(f"{self.fixable_safe} fixable with `--write`")
        if self.fixable_unsafe:
            parts.append(f"{self.fixable_unsafe} more with `--unsafe-fixes`")
        if self.errors:
            parts.append(f"{self.errors} error(s)")
        return "dfix: " + "; ".join(parts) + "."
