"""Capture what ghci prints for inputs that fail (and a few that do not) into
tests/golden/ghci-<version>.json, for the pattern tests in tests/test_haskell_kernel.py.

Run it again when Debian's GHC changes: `.venv/bin/python scripts/capture_ghci_output.py`.
Each case keeps the failure kind it should be classified as (null: not a failure).
"""

from __future__ import annotations

import json
import signal
import sys
import tempfile
import threading
from pathlib import Path

from jupyter_service.kernels.haskell.ghci.process import Ghci, GhciOptions, Sink

# (name, setup inputs, the input, its failure kind)
CASES: list[tuple[str, list[str], str, str | None]] = [
    ("type error", ["let x = 1 + 1"], 'x + "a"', "CompileError"),
    ("not in scope", [], "foo 1", "CompileError"),
    ("parse error", [], "1 +", "CompileError"),
    ("multi-line error", [], ":{\nlet a = 1\n    b = a + True\n:}", "CompileError"),
    ("exception", [], 'error "boom"', "Exception"),
    ("head of empty list", [], "head [] :: Int", "Exception"),
    (
        "heap overflow",
        ["let xs = [1 ..] :: [Integer]"],
        "length (show (take 100000000 xs))",
        "Exception",
    ),
    ("missing module", [], "import Data.Nope", "CompileError"),
    ("hidden package", [], "import Data.Map", "CompileError"),
    ("info of unknown name", [], ":info Nope", "CompileError"),
    ("unknown command", [], ":nope", "GhciError"),
    ("unknown package", [], ":set -package nope", "GhciError"),
    ("unknown flag", [], ":set -fnope", "GhciError"),
    ("load a broken module", [], ":load {dir}/Bad.hs", "CompileError"),
    ("load a missing file", [], ":load {dir}/Missing.hs", "CompileError"),
    ("interrupted", [], "length [1 ..]", "Interrupted"),
    ("warning only", [":set -Wall"], "let f x = 1", None),
    ("user stderr", [], 'System.IO.hPutStrLn System.IO.stderr "to stderr"', None),
    ("type", [], ":type map", None),
    ("load a good module", [], ":load {dir}/Good.hs", None),
]

BAD = 'module Bad where\n\nf :: Int -> Int\nf x = x + "a"\n'
GOOD = "module Good where\n\ng :: Int -> Int\ng = (* 2)\n"


def main() -> int:
    out = Path(__file__).resolve().parent.parent / "tests" / "golden"
    options = GhciOptions(package_db=_global_db(), packages=(), heap_limit="200m")
    records = []
    streamed: list[str] = []
    sink = Sink(
        stream=lambda n, t: streamed.append(t) if n == "stderr" else None,
        display=lambda _f: None,
    )
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "Bad.hs").write_text(BAD)
        Path(tmp, "Good.hs").write_text(GOOD)
        for name, setup, text, kind in CASES:
            ghci = Ghci(options)
            banner = ghci.wait_ready()
            for item in setup:
                ghci.run(item + "\n", sink)
            streamed.clear()
            if kind == "Interrupted":
                threading.Timer(1.0, ghci.interrupt).start()
            reply = ghci.run(text.replace("{dir}", tmp) + "\n", sink)
            ghci.kill()
            stderr = ("".join(streamed) + reply.stderr).replace(tmp, "/tmp/cases")
            records.append(
                {
                    "name": name,
                    "input": text.replace("{dir}", "/tmp/cases"),
                    "stdout": reply.stdout.replace(tmp, "/tmp/cases"),
                    "stderr": stderr,
                    "failure": kind,
                }
            )
    version = banner.split("version ", 1)[1].split(":", 1)[0]
    path = out / f"ghci-{version}.json"
    path.write_text(json.dumps(records, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {path}")
    return 0


def _global_db() -> str:
    # -hide-all-packages over the global database: as a kernel sees it, with only base.
    import subprocess

    return subprocess.run(
        ["ghc", "--print-global-package-db"], capture_output=True, text=True, check=True
    ).stdout.strip()


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
