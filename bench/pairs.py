"""Comparisons that hold under noise: A and B run as interleaved pairs (A, B, A, B, ...),
each pair gives one ratio B/A, and the figure is the min / median / max of those ratios.

A machine that slows down for a while slows both halves of the pairs in that while, so the
ratio stays put where two separate medians would drift (0.74x one run, 1.06x the next).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

Sample = Callable[[int], float]


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def command(cmd: Sequence[str], env: Mapping[str, str] | None = None) -> Sample:
    """A sample that runs `cmd` (its output dropped, its failure raised) and times it."""

    def sample(i: int) -> float:
        return timed(
            lambda: subprocess.run(
                list(cmd),
                env=None if env is None else dict(env),
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )

    return sample


@dataclass
class Pairs:
    """One comparison: `b` measured against the baseline `a`, pair by pair."""

    label: str
    a_label: str
    b_label: str
    a: list[float] = field(default_factory=list)
    b: list[float] = field(default_factory=list)
    target: str = ""

    @property
    def ratios(self) -> list[float]:
        return [b / a for a, b in zip(self.a, self.b, strict=True)]

    def summary(self) -> dict[str, float]:
        ratios = self.ratios
        return {
            "ratio_min": min(ratios),
            "ratio_median": statistics.median(ratios),
            "ratio_max": max(ratios),
            "a_median_s": statistics.median(self.a),
            "b_median_s": statistics.median(self.b),
            "pairs": len(ratios),
        }

    def line(self) -> str:
        s = self.summary()
        target = f"  target {self.target}" if self.target else ""
        return (
            f"{self.label:<44} {s['ratio_min']:6.2f}x {s['ratio_median']:6.2f}x "
            f"{s['ratio_max']:6.2f}x   {self.b_label} {s['b_median_s']:.3f} s "
            f"vs {self.a_label} {s['a_median_s']:.3f} s{target}"
        )


def interleaved(
    label: str,
    a_label: str,
    a: Sample,
    b_label: str,
    b: Sample,
    *,
    pairs: int,
    warmup: int = 1,
    target: str = "",
) -> Pairs:
    """Run `warmup` unrecorded pairs, then `pairs` recorded ones: A, B, A, B, ..."""
    for i in range(warmup):
        a(-1 - i)
        b(-1 - i)
    result = Pairs(label, a_label, b_label, target=target)
    for i in range(pairs):
        result.a.append(a(i))
        result.b.append(b(i))
    return result


HEADER = f"{'comparison (B vs A)':<44} {'min':>7} {'median':>7} {'max':>7}"


def report(results: Sequence[Pairs]) -> str:
    return "\n".join([HEADER, *(r.line() for r in results)])


def bench_parser(doc: str | None, pairs: int) -> argparse.ArgumentParser:
    """The options every bench takes: --pairs N (recorded pairs per comparison) and --json."""
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=pairs, help=f"default {pairs}")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    return parser


def write_figures(
    results: Sequence[Pairs],
    json_path: Path | None,
    extra: Mapping[str, object] | None = None,
) -> None:
    """Print the comparisons; with --json also write them, by label, and any `extra` figures."""
    print(report(results))
    if json_path is not None:
        figures: dict[str, object] = {r.label: r.summary() for r in results}
        figures.update(extra or {})
        json_path.write_text(json.dumps(figures, indent=1))
