"""The Haskell kernel over ghci: its pure parts exactly (cell splitter, GHC 9.0's failure
text on output captured from ghci 9.0.2, the stdout framing), then the real kernel with a
real ghci, driven by jupyter_client from a kernelspec in the test's own Jupyter dirs."""

# GHC quotes names in its messages with curly quotes (U+2018, U+2019).
# ruff: noqa: RUF001

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jupyter_core.paths
import psutil
import pytest
from jupyter_client.manager import KernelManager, start_new_kernel

from jupyter_service.kernels.haskell.ghci import (
    MODULE,
    find_ghc_version,
    render_display_name,
)
from jupyter_service.kernels.haskell.ghci.framing import (
    Display,
    FrameError,
    Prompt,
    StdoutScanner,
    Text,
    decode_display,
    render_display_marker,
    render_prompt,
    render_prompt_prefix,
)
from jupyter_service.kernels.haskell.ghci.literals import (
    read_haskell_string,
    render_haskell_string,
)
from jupyter_service.kernels.haskell.ghci.patterns import find_failure, is_warning
from jupyter_service.kernels.haskell.ghci.process import (
    GhciOptions,
    HeapLimitError,
    check_heap_limit,
)
from jupyter_service.kernels.haskell.ghci.splitter import Input, split_cell
from jupyter_service.kernels.haskell.pkgdb import (
    find_closure,
    find_ghc,
    read_global_packages,
    write_package_db,
)

GOLDEN = Path(__file__).parent / "golden" / "ghci-9.0.2.json"
needs_ghc = pytest.mark.skipif(
    shutil.which("ghc") is None, reason="needs ghc (apt-get install ghc)"
)

# ---------------------------------------------------------------- the cell splitter


@pytest.mark.parametrize(
    ("cell", "inputs"),
    [
        ("let x = 1 + 1", [Input("let x = 1 + 1\n")]),
        ("let x = 1 + 1\nx * 21\n", [Input("let x = 1 + 1\n"), Input("x * 21\n")]),
        (
            "f :: Int -> Int\nf 0 = 1\nf n = n * f (n - 1)\n\nf 5",
            [Input(":{\nf :: Int -> Int\nf 0 = 1\nf n = n * f (n - 1)\n:}\n"), Input("f 5\n")],
        ),
        (
            'g :: Int -> String\ng n\n  | n > 0 = "pos"\n  | otherwise = "neg"',
            [Input(':{\ng :: Int -> String\ng n\n  | n > 0 = "pos"\n  | otherwise = "neg"\n:}\n')],
        ),
        (
            "main = do\n  print 1\n\n  print 2\nmain",
            [Input(":{\nmain = do\n  print 1\n\n  print 2\n:}\n"), Input("main\n")],
        ),
        ("print 1\nprint 2", [Input("print 1\n"), Input("print 2\n")]),
        ('putStrLn "a = b"\nputStrLn "c"', [Input('putStrLn "a = b"\n'), Input('putStrLn "c"\n')]),
        ("x == 1\nx == 2", [Input("x == 1\n"), Input("x == 2\n")]),
        ("a = 1\nb = 2", [Input("a = 1\n"), Input("b = 2\n")]),
        (
            "(<+>) :: Int -> Int -> Int\na <+> b = a + b",
            [Input(":{\n(<+>) :: Int -> Int -> Int\na <+> b = a + b\n:}\n")],
        ),
        (":type map\n:info Maybe", [Input(":type map\n", "type"), Input(":info Maybe\n", "info")]),
        (
            ":{\nlet y = 1\n    z = 2\n:}\ny",
            [Input(":{\nlet y = 1\n    z = 2\n:}\n"), Input("y\n")],
        ),
        (
            "data Shape = Circle Double\n  | Square Double\n  deriving Show",
            [Input(":{\ndata Shape = Circle Double\n  | Square Double\n  deriving Show\n:}\n")],
        ),
        (
            "{-# LANGUAGE OverloadedStrings, LambdaCase #-}\nimport Data.List",
            [Input(":set -XOverloadedStrings -XLambdaCase\n", "set"), Input("import Data.List\n")],
        ),
        ("-- a comment\n{- a\nblock -}\n\n1 + 1 -- after", [Input("1 + 1 -- after\n")]),
        ("  1 + 1\n  2 + 2", [Input("1 + 1\n"), Input("2 + 2\n")]),
        ("1 --> 2", [Input("1 --> 2\n")]),
        ("", []),
    ],
)
def test_split_cell(cell: str, inputs: list[Input]) -> None:
    assert split_cell(cell) == inputs


# ------------------------------------------------- failure text captured from ghci 9.0.2

CAPTURED = json.loads(GOLDEN.read_text())


@pytest.mark.parametrize("case", CAPTURED, ids=[case["name"] for case in CAPTURED])
def test_failures_in_captured_ghci_output(case: dict[str, Any]) -> None:
    failure = find_failure(case["stdout"], case["stderr"])
    assert (failure.ename if failure else None) == case["failure"]


@pytest.mark.parametrize(
    ("name", "evalue"),
    [
        ("type error", "No instance for (Num String) arising from a use of ‘+’"),
        ("not in scope", "Variable not in scope: foo :: t0 -> t"),
        ("parse error", "parse error (possibly incorrect indentation or mismatched brackets)"),
        ("exception", "boom"),
        ("heap overflow", "heap overflow"),
        ("missing module", "Could not find module ‘Data.Nope’"),
        ("unknown command", "unknown command ':nope'"),
        ("unknown package", "cannot satisfy -package nope"),
        ("load a broken module", "Couldn't match type ‘[Char]’ with ‘Int’"),
        ("interrupted", "Interrupted."),
    ],
)
def test_failure_summaries(name: str, evalue: str) -> None:
    case = next(case for case in CAPTURED if case["name"] == name)
    failure = find_failure(case["stdout"], case["stderr"])
    assert failure is not None
    assert failure.evalue == evalue
    assert failure.traceback == case["stderr"].strip("\n").split("\n") or name == "unknown command"


def test_output_before_a_failure_stays_a_stream_and_a_warning_is_no_failure() -> None:
    warning = next(case for case in CAPTURED if case["name"] == "warning only")["stderr"]
    assert find_failure("", warning) is None
    assert is_warning(warning.strip("\n").split("\n")[0])
    error = next(case for case in CAPTURED if case["name"] == "type error")["stderr"]
    failure = find_failure("", "user output\n" + warning + error)
    assert failure is not None
    assert failure.ename == "CompileError"
    assert failure.before == "user output\n" + warning.rstrip("\n") + "\n"
    assert failure.traceback == error.strip("\n").split("\n")


# ----------------------------------------------------------------- stdout framing


def test_scanner_finds_prompts_and_display_frames_across_chunk_boundaries() -> None:
    token = "0123abcd"
    stream = (
        "abc"
        + render_display_marker(token)
        + "text/html PGI+\n"
        + "def\x1eghost"
        + render_prompt(token, 12)
        + render_prompt_prefix(token)
        + "x\n"
        + "next"
    )
    for cut in range(len(stream) + 1):
        scanner = StdoutScanner(token)
        events = scanner.feed(stream[:cut]) + scanner.feed(stream[cut:])
        merged: list[object] = []
        for event in events:
            if isinstance(event, Text) and merged and isinstance(merged[-1], Text):
                merged[-1] = Text(merged[-1].text + event.text)
            else:
                merged.append(event)
        assert merged == [
            Text("abc"),
            Display("text/html PGI+"),
            Text("def\x1eghost"),
            Prompt(12),
            Text(render_prompt_prefix(token) + "x\nnext"),
        ], cut


def test_decode_display() -> None:
    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    png = b"\x89PNG\r\n\x1a\n"
    frame = " ".join(
        [
            f"text/html {b64('<b>é</b>'.encode())}",
            f"image/png {b64(png)}",
            "application/vnd.vegalite.v5+json " + b64(b'{"mark": "bar"}'),
        ]
    )
    assert decode_display(frame) == {
        "text/html": "<b>é</b>",
        "image/png": b64(png),
        "application/vnd.vegalite.v5+json": {"mark": "bar"},
    }
    with pytest.raises(FrameError, match="pairs"):
        decode_display("text/html")
    with pytest.raises(FrameError, match="not base64"):
        decode_display("text/html ###")
    with pytest.raises(FrameError, match="not JSON"):
        decode_display(f"application/json {b64(b'{')}")


def test_haskell_string_literals_both_ways() -> None:
    text = 'say "hé"\\ \x1e1'
    assert render_haskell_string(text) == "say \\34\\&h\\233\\&\\34\\&\\92\\& \\30\\&1"
    assert read_haskell_string('"' + render_haskell_string(text) + '"') == text
    assert read_haskell_string(r'"a\"b\\c\n\1234\&5"') == 'a"b\\c\n\u04d25'


# ---------------------------------------------------------------- the command line


def test_ghci_command_line() -> None:
    assert GhciOptions().argv() == [
        "ghc",
        "--interactive",
        "-ignore-dot-ghci",
        "-package-env",
        "-",
        "-fdiagnostics-color=never",
        "+RTS",
        "-M4g",
        "-RTS",
    ]
    options = GhciOptions(ghc="/opt/ghc", package_db="/db", packages=("aeson",), heap_limit="none")
    assert options.argv() == [
        "/opt/ghc",
        "--interactive",
        "-ignore-dot-ghci",
        "-package-env",
        "-",
        "-fdiagnostics-color=never",
        "-clear-package-db",
        "-package-db",
        "/db",
        "-hide-all-packages",
        "-package",
        "base",
        "-package",
        "aeson",
    ]
    env = options.environ({"LC_ALL": "POSIX", "GHC_PACKAGE_PATH": "/x", "HOME": "/h"})
    assert env == {"LANG": "C.UTF-8", "HOME": "/h"}


@pytest.mark.parametrize("value", ["4g", "512m", "100000k", "none"])
def test_heap_limit_accepts_sizes(value: str) -> None:
    assert check_heap_limit(value) == value


@pytest.mark.parametrize("value", ["", "4 g", "-1g", "0", "4gb", "lots"])
def test_heap_limit_refuses_what_rts_would_not_take(value: str) -> None:
    with pytest.raises(HeapLimitError, match=r"as GHC's \+RTS -M takes it"):
        check_heap_limit(value)


def test_kernel_refuses_a_bad_heap_limit_by_name() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", MODULE, "-f", "x.json", "--heap-limit", "lots"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "--heap-limit 'lots' is not a size" in proc.stderr


def test_kernel_without_ghc_says_so(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", MODULE, "-f", "x.json", "--ghc", str(tmp_path / "ghc")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert (
        proc.stderr == f"error: cannot start ghci: {tmp_path / 'ghc'}: No such file or directory\n"
    )


@needs_ghc
def test_display_name_names_ghc_not_ihaskell() -> None:
    version = find_ghc_version()
    assert version == "9.0.2" or version.count(".") == 2
    assert render_display_name("9.0.2") == "Haskell (GHC 9.0.2)"


# ------------------------------------------------------------- the kernel, for real


def install_kernelspec(name: str, *args: str) -> None:
    """A kernelspec in the test's own Jupyter data dir (jp_environ made it temporary)."""
    spec_dir = Path(jupyter_core.paths.jupyter_data_dir()) / "kernels" / name
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", MODULE, "-f", "{connection_file}", *args],
        "display_name": render_display_name("9.0.2"),
        "language": "haskell",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))


def ghci_pids(km: KernelManager) -> list[int]:
    kernel = psutil.Process(km.provisioner.process.pid)  # type: ignore[union-attr]
    return [p.pid for p in kernel.children(recursive=True) if p.name() == "ghc"]


def assert_gone(pids: set[int], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    alive = pids
    while alive and time.monotonic() < deadline:
        alive = {pid for pid in alive if _running(pid)}
        time.sleep(0.05)
    assert not alive, f"ghci left behind: {alive}"


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class Kernel:
    """A started kernel and every ghci it was seen running, all checked gone at the end."""

    def __init__(self, name: str) -> None:
        self.km, self.kc = start_new_kernel(kernel_name=name, startup_timeout=120)
        self.seen: set[int] = set(ghci_pids(self.km))

    def ghci(self) -> int:
        pids = ghci_pids(self.km)
        assert len(pids) == 1, pids
        self.seen.add(pids[0])
        return pids[0]

    def run(self, code: str, timeout: float = 60) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
        outputs: list[tuple[str, Any]] = []

        def keep(msg: dict[str, Any]) -> None:
            if msg["msg_type"] in {"stream", "display_data", "error", "execute_result"}:
                outputs.append((msg["msg_type"], msg["content"]))

        reply = self.kc.execute_interactive(code, timeout=timeout, output_hook=keep)
        return reply["content"], outputs

    def stop(self) -> None:
        self.seen.update(ghci_pids(self.km))
        self.kc.stop_channels()
        self.km.shutdown_kernel()
        assert_gone(self.seen)


def text_of(outputs: list[tuple[str, Any]], name: str = "stdout") -> str:
    return "".join(c["text"] for kind, c in outputs if kind == "stream" and c["name"] == name)


@pytest.fixture
def haskell(jp_environ: None) -> Iterator[Callable[..., Kernel]]:
    started: list[Kernel] = []

    def start(*args: str) -> Kernel:
        name = f"haskell-test-{len(started)}"
        install_kernelspec(name, *args)
        kernel = Kernel(name)
        started.append(kernel)
        return kernel

    yield start
    for kernel in started:
        kernel.stop()


@pytest.mark.slow
@needs_ghc
def test_state_multi_line_definitions_and_ghci_commands(haskell: Callable[..., Kernel]) -> None:
    kernel = haskell()
    info = kernel.kc.kernel_info(reply=True)["content"]
    assert info["language_info"]["name"] == "haskell"
    assert info["language_info"]["version"] == find_ghc_version()
    assert "not IHaskell" in info["banner"]
    assert info["supported_features"] == []

    assert kernel.run("let x = 1 + 1")[0]["status"] == "ok"
    reply, outputs = kernel.run("x * 21")
    assert reply["status"] == "ok"
    assert text_of(outputs) == "42\n"

    cell = "fact :: Integer -> Integer\nfact 0 = 1\nfact n = n * fact (n - 1)\n\nfact 20"
    reply, outputs = kernel.run(cell)
    assert reply["status"] == "ok"
    assert text_of(outputs) == "2432902008176640000\n"

    reply, outputs = kernel.run('putStrLn "λ → ∀"')
    assert text_of(outputs) == "λ → ∀\n"

    reply, outputs = kernel.run(":type fact\n:info Maybe")
    assert reply["status"] == "ok"
    out = text_of(outputs)
    assert out.startswith("fact :: Integer -> Integer\n")
    assert "data Maybe a = Nothing | Just a" in out


@pytest.mark.slow
@needs_ghc
def test_errors_are_error_replies_and_stderr_is_a_stream(haskell: Callable[..., Kernel]) -> None:
    kernel = haskell()
    reply, outputs = kernel.run('1 + "a"\nputStrLn "not run"')
    assert reply["status"] == "error"
    assert reply["ename"] == "CompileError"
    assert reply["evalue"] == "No instance for (Num String) arising from a use of ‘+’"
    assert [kind for kind, _ in outputs] == ["error"]
    assert outputs[0][1]["traceback"][0] == "<interactive>:3:3: error:"

    reply, outputs = kernel.run('putStrLn "before"\nerror "boom"')
    assert (reply["status"], reply["ename"], reply["evalue"]) == ("error", "Exception", "boom")
    assert text_of(outputs) == "before\n"

    cell = 'import System.IO\nhPutStrLn stderr "to stderr" >> putStrLn "to stdout"'
    reply, outputs = kernel.run(cell)
    assert reply["status"] == "ok"
    assert text_of(outputs, "stderr") == "to stderr\n"
    assert text_of(outputs) == "to stdout\n"

    # The user's code shares stdout with ghci: a buffering it chooses must not hold back
    # ghci's prompt (the kernel would wait for it forever).
    cell = 'hSetBuffering stdout (BlockBuffering Nothing)\nputStr "held"'
    assert text_of(kernel.run(cell, timeout=20)[1]) == "held"
    reply, outputs = kernel.run('putStrLn "next"', timeout=20)
    assert text_of(outputs) == "next\n"

    reply, outputs = kernel.run(":set -Wall\nlet unused x = 1")
    assert reply["status"] == "ok"
    assert "warning: [-Wunused-matches]" in text_of(outputs, "stderr")

    reply, outputs = kernel.run(":nope")
    assert (reply["status"], reply["evalue"]) == ("error", "unknown command ':nope'")


@pytest.mark.slow
@needs_ghc
@pytest.mark.parametrize("mode", ["signal", "message"])
def test_interrupt_stops_an_endless_loop_and_keeps_the_state(
    haskell: Callable[..., Kernel], mode: str
) -> None:
    kernel = haskell()
    if mode == "message":  # as JupyterLab does with interrupt_mode "message"
        kernel.km.kernel_spec.interrupt_mode = "message"  # type: ignore[union-attr]
    kernel.run("let kept = 7 :: Int")
    before = kernel.ghci()
    timer = threading.Timer(2.0, kernel.km.interrupt_kernel)
    timer.start()
    started = time.monotonic()
    reply, outputs = kernel.run("length [1 ..]")
    timer.join()
    assert time.monotonic() - started < 10
    assert (reply["status"], reply["ename"]) == ("error", "Interrupted")
    reply, outputs = kernel.run("kept * 6")
    assert text_of(outputs) == "42\n"
    assert kernel.ghci() == before

    # A SIGINT that finds ghci idle (one that lands just as a cell ends) makes ghci print its
    # prompt once more; no output may slip to the next cell for that.
    os.kill(before, signal.SIGINT)
    time.sleep(0.5)
    assert [text_of(kernel.run(code)[1]) for code in ["1 + 1", "2 + 2"]] == ["2\n", "4\n"]


@pytest.mark.slow
@needs_ghc
def test_rich_output_helpers(haskell: Callable[..., Kernel], tmp_path: Path) -> None:
    kernel = haskell()
    svg = "<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'><circle r='4'/></svg>"
    reply, outputs = kernel.run(f'putStr "a"\nsvg "{svg}"\nputStrLn "b"')
    assert reply["status"] == "ok"
    assert outputs == [
        ("stream", {"name": "stdout", "text": "a"}),
        ("display_data", {"data": {"image/svg+xml": svg}, "metadata": {}, "transient": {}}),
        ("stream", {"name": "stdout", "text": "b\n"}),
    ]

    cell = (
        "{-# LANGUAGE OverloadedStrings #-}\n"
        "import qualified Data.Aeson as A\n"
        'vegaLite (A.object ["mark" A..= ("bar" :: String), "title" A..= ("λ" :: String)])'
    )
    reply, outputs = kernel.run(cell)
    assert reply["status"] == "ok", outputs
    assert outputs[0][1]["data"] == {
        "application/vnd.vegalite.v5+json": {"mark": "bar", "title": "λ"},
        "text/plain": "<Vega-Lite chart>",
    }

    png = tmp_path / "dot.png"
    png.write_bytes(bytes(range(256)))
    reply, outputs = kernel.run(f'pngFile "{png}"\nhtml "<b>é</b>"\nmarkdown "# T"')
    assert reply["status"] == "ok"
    assert [c["data"] for _, c in outputs] == [
        {"image/png": base64.b64encode(bytes(range(256))).decode()},
        {"text/html": "<b>é</b>"},
        {"text/markdown": "# T"},
    ]

    # :load wipes interactive bindings; the helpers come back.
    (tmp_path / "M.hs").write_text("module M where\n\nm :: Int\nm = 3\n")
    reply, outputs = kernel.run(f":load {tmp_path / 'M.hs'}\nhtml (show m)")
    assert reply["status"] == "ok", outputs
    assert outputs[-1][1]["data"] == {"text/html": "3"}


def package_db(root: Path, *names: str) -> Path:
    """A package database holding the closure of base and `names`, as `switch` builds one."""
    ghc = find_ghc()
    closure, missing = find_closure(read_global_packages(ghc), names)
    assert not missing
    db = root / "package.db"
    write_package_db(ghc, [package.id for package in closure], db, root / "logs")
    return db


@pytest.mark.slow
@needs_ghc
def test_only_the_configured_packages_are_seen_and_the_heap_is_limited(
    haskell: Callable[..., Kernel], tmp_path: Path
) -> None:
    db = package_db(tmp_path)
    assert {p.stem.rsplit("-", 1)[0] for p in db.glob("*.conf")} == {
        "base",
        "ghc-bignum",
        "ghc-prim",
        "rts",
    }
    kernel = haskell("--package-db", str(db), "--heap-limit", "300m")
    reply, _ = kernel.run("import qualified Data.Map")
    assert (reply["status"], reply["evalue"]) == ("error", "Could not find module ‘Data.Map’")
    # ghc-prim is in the database (base needs it) but hidden, and stays so.
    reply, _ = kernel.run("import GHC.Types")
    assert (reply["status"], reply["evalue"]) == ("error", "Could not load module ‘GHC.Types’")
    fixed = (
        "this kernel sees only the packages its configuration names: add the package to the "
        "kernel's extraPackages, then run `jupyter-service switch`"
    )
    for cell in [
        ":set -package ghc-prim",
        ":seti -package-id ghc-prim-0.7.0",
        ":set -Wall -package-db /usr/lib/ghc/package.conf.d",
        ":s -expose-package=ghc-prim",
    ]:
        reply, _ = kernel.run(cell)
        assert (reply["status"], reply["evalue"]) == ("error", fixed), cell
    kernel.run("let kept = 1")
    reply, _ = kernel.run(':cmd return ":set -package ghc-prim"')
    assert (reply["status"], reply["ename"]) == ("error", "GhciError")
    assert reply["evalue"].startswith(fixed + ". ghci was restarted with the configured packages")
    reply, _ = kernel.run("import GHC.Types")
    assert reply["status"] == "error"
    reply, outputs = kernel.run('html "base is enough"\nsum [1 .. 10]')
    assert reply["status"] == "ok"
    assert text_of(outputs) == "55\n"
    reply, outputs = kernel.run("vegaLite undefined")
    assert reply["status"] == "error"
    assert outputs[-1][1]["traceback"][-1].startswith("hint: vegaLite needs the aeson package")
    cmdline = psutil.Process(kernel.ghci()).cmdline()
    assert cmdline[-3:] == ["+RTS", "-M300m", "-RTS"]
    # Past the heap limit, the cell fails and the session goes on.
    kernel.run("let xs = [1 ..] :: [Integer]")
    reply, _ = kernel.run("length (show (take 100000000 xs))", timeout=120)
    assert (reply["status"], reply["ename"], reply["evalue"]) == (
        "error",
        "Exception",
        "heap overflow",
    )
    assert text_of(kernel.run("take 3 xs")[1]) == "[1,2,3]\n"


@pytest.mark.slow
@needs_ghc
def test_a_dead_ghci_is_replaced_with_a_clear_message(haskell: Callable[..., Kernel]) -> None:
    kernel = haskell()
    kernel.run("let x = 1")
    first = kernel.ghci()
    os.kill(first, signal.SIGKILL)
    assert_gone({first})
    reply, outputs = kernel.run("x")
    assert text_of(outputs, "stderr").startswith(
        "ghci was killed by SIGKILL. A fresh ghci was started: the definitions, imports and "
        "settings of earlier cells are gone, run those cells again.\n"
    )
    assert (reply["status"], reply["evalue"]) == ("error", "Variable not in scope: x")
    reply, outputs = kernel.run("let x = 2\nx + 40")
    assert text_of(outputs) == "42\n"

    # Dying in the middle of a cell: the cell's reply says so.
    second = kernel.ghci()
    assert second != first
    threading.Timer(1.5, os.kill, (second, signal.SIGKILL)).start()
    reply, outputs = kernel.run("length [1 ..]")
    assert (reply["status"], reply["ename"]) == ("error", "GhciExited")
    assert reply["evalue"].startswith("ghci was killed by SIGKILL. A fresh ghci was started")
    assert text_of(kernel.run("1 + 1")[1]) == "2\n"


@pytest.mark.slow
@needs_ghc
def test_completion_and_inspection(haskell: Callable[..., Kernel]) -> None:
    kernel = haskell()
    reply = kernel.kc.complete("print 1\nmap putS", 16, reply=True)["content"]
    assert reply["matches"] == ["putStr", "putStrLn"]
    assert (reply["cursor_start"], reply["cursor_end"]) == (12, 16)
    reply = kernel.kc.complete("import Data.Mayb", 16, reply=True)["content"]
    assert reply["matches"] == ["Data.Maybe"]
    assert reply["cursor_start"] == 7
    reply = kernel.kc.complete(":ty", 3, reply=True)["content"]
    assert ":type" in reply["matches"]
    reply = kernel.kc.complete("mark", 4, reply=True)["content"]
    assert reply["matches"] == ["markdown"]
    reply = kernel.kc.inspect("fmap", 2, reply=True)["content"]
    assert reply["found"] is True
    assert "fmap :: (a -> b) -> f a -> f b" in reply["data"]["text/plain"]
    assert kernel.kc.inspect("nosuchname", 3, reply=True)["content"]["found"] is False


@pytest.mark.slow
@needs_ghc
def test_a_killed_kernel_takes_its_ghci_with_it(jp_environ: None) -> None:
    install_kernelspec("haskell-killed")
    km, kc = start_new_kernel(kernel_name="haskell-killed", startup_timeout=120)
    try:
        pids = set(ghci_pids(km))
        assert len(pids) == 1
        # In its own session: a signal to the kernel's process group does not reach it.
        assert [os.getsid(pid) for pid in pids] == list(pids)
        assert km.provisioner is not None
        km.provisioner.process.kill()  # type: ignore[attr-defined]
        assert_gone(pids)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
