"""Render the doctor's results: text for a person, JSON for a machine. Pure."""

from __future__ import annotations

import json
from dataclasses import asdict

from jupyter_service.doctor.result import STATUSES, CheckResult, failed


def _counts(results: list[CheckResult]) -> dict[str, int]:
    return {status: sum(r.status == status for r in results) for status in STATUSES}


def render_text(results: list[CheckResult]) -> str:
    width = max(len(r.check) for r in results)
    lines = []
    for r in results:
        subject = f"{r.subject}: " if r.subject else ""
        lines.append(f"{r.status:<4}  {r.check:<{width}}  {subject}{r.finding}")
        pad = " " * (width + 8)
        lines += [f"{pad}{detail}" for detail in r.details]
        if r.fix and r.status != "ok":
            lines.append(f"{pad}fix: {r.fix}")
    counts = _counts(results)
    summary = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    verdict = "problems found" if failed(results) else "nothing failed"
    lines.append(f"\n{summary}: {verdict}")
    return "\n".join(lines) + "\n"


def render_json(results: list[CheckResult]) -> str:
    doc = {
        "ok": not failed(results),
        "counts": _counts(results),
        "checks": [{**asdict(r), "details": list(r.details)} for r in results],
    }
    return json.dumps(doc, indent=1) + "\n"
