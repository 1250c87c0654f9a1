"""What a doctor check found: a status, one line, and where not ok, the fixing command."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["ok", "warn", "fail", "skip"]
STATUSES: tuple[Status, ...] = ("ok", "warn", "fail", "skip")


@dataclass(frozen=True)
class CheckResult:
    check: str  # config, auth, kernel, stale-kernelspec, generation, service, port, ...
    status: Status
    finding: str
    fix: str | None = None
    subject: str = ""  # the kernel, tool, ... a check of several things is about
    details: tuple[str, ...] = ()


def failed(results: list[CheckResult]) -> bool:
    return any(r.status == "fail" for r in results)
