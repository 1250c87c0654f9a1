"""The base venv's byte-code: copied from our own environment where a source is identical
(what a kernel start reads first), compiled at idle priority for the rest."""

from __future__ import annotations

import json
import os
import py_compile
import subprocess
import sys
from importlib.util import cache_from_source
from pathlib import Path

import pytest
from jupyter_client.manager import start_new_kernel

from jupyter_service.venvs.build import (
    BASE_PACKAGES,
    base_python,
    our_site_dirs,
    site_packages,
    uv_bin,
)
from jupyter_service.venvs.compile_base import (
    COMPILED_MARKER,
    kernel_start_files,
    pyc_valid_for,
    seed,
    shared_sources,
)

from .helpers import execute

OLD = 1_600_000_000  # our environment's files: installed long ago
NEW = 1_700_000_000  # the base's: just installed


def write(site: Path, rel: str, text: str, mtime: int) -> Path:
    path = site / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.utime(path, (mtime, mtime))
    return path


def pyc_path(source: Path) -> Path:
    return Path(cache_from_source(str(source)))


def valid(source: Path) -> bool:
    try:
        code = pyc_path(source).read_bytes()
    except FileNotFoundError:
        return False
    return pyc_valid_for(code, source.read_bytes(), source.stat())


def read_from_cache(site: Path, module: str) -> bool:
    """Whether a fresh interpreter takes `module`'s code from its byte-code (Python's verbose
    mode names the file each code object comes from), not compiling it."""
    proc = subprocess.run(
        [sys.executable, "-v", "-c", f"import {module}"],
        env={**os.environ, "PYTHONPATH": str(site), "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    source = site / (module.replace(".", "/") + ".py")
    return f"code object from '{pyc_path(source)}'" in proc.stderr


def test_seeding_copies_byte_code_only_for_identical_sources(tmp_path: Path) -> None:
    ours, base = tmp_path / "ours", tmp_path / "base"
    same = "VALUE = 'same'\n"
    write(ours, "pkg/__init__.py", "", OLD)
    write(base, "pkg/__init__.py", "", NEW)
    # Identical, with timestamp byte-code: copied, its header made the base file's.
    py_compile.compile(str(write(ours, "pkg/same.py", same, OLD)), doraise=True)
    write(base, "pkg/same.py", same, NEW)
    # Identical, with hash-based byte-code (checked; unchecked, which Python would never
    # check against the source): copied with a timestamp header, checked at each import.
    for name, mode in (("hashed", "CHECKED_HASH"), ("unchecked", "UNCHECKED_HASH")):
        hashed = write(ours, f"pkg/{name}.py", same, OLD)
        mode_ = py_compile.PycInvalidationMode[mode]
        py_compile.compile(str(hashed), doraise=True, invalidation_mode=mode_)
        write(base, f"pkg/{name}.py", same, NEW)
    # Ours edited after it was compiled, to what the base has: our byte-code is stale for
    # it (of the text before), never copied.
    stale = write(ours, "pkg/stale.py", same, OLD)
    py_compile.compile(str(stale), doraise=True)
    write(ours, "pkg/stale.py", "VALUE = 'edited'\n", OLD + 60)
    write(base, "pkg/stale.py", "VALUE = 'edited'\n", NEW)
    # Another version in the base (same size even): never copied.
    py_compile.compile(str(write(ours, "pkg/other.py", "VALUE = 'v1'\n", OLD)), doraise=True)
    write(base, "pkg/other.py", "VALUE = 'v2'\n", NEW)
    # No byte-code of ours; ours writable by others: neither copied.
    write(ours, "pkg/uncompiled.py", same, OLD)
    write(base, "pkg/uncompiled.py", same, NEW)
    loose = write(ours, "pkg/loose.py", same, OLD)
    py_compile.compile(str(loose), doraise=True)
    pyc_path(loose).chmod(0o666)
    write(base, "pkg/loose.py", same, NEW)

    names = ("same", "hashed", "unchecked", "stale", "other", "uncompiled")
    rels = [f"pkg/{name}.py" for name in names]
    assert seed(base, [ours], [*rels, "pkg/loose.py", "pkg/absent.py"]) == 3

    for name in ("same", "hashed", "unchecked"):
        assert valid(base / f"pkg/{name}.py"), name
        assert pyc_path(base / f"pkg/{name}.py").read_bytes()[4:8] == bytes(4), name
        assert read_from_cache(base, f"pkg.{name}"), name
    for name in ("stale", "other", "uncompiled", "loose"):
        assert not pyc_path(base / f"pkg/{name}.py").exists(), name
    # What the base runs is its own source's code (the same text, so the same code).
    out = subprocess.run(
        [sys.executable, "-c", "import pkg.same; print(pkg.same.VALUE, pkg.same.__file__)"],
        env={**os.environ, "PYTHONPATH": str(base)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out == f"same {base / 'pkg/same.py'}\n"
    # Byte-code the base has already (a kernel wrote it) is left alone.
    before = pyc_path(base / "pkg/same.py").stat().st_mtime_ns
    assert seed(base, [ours], rels) == 0
    assert pyc_path(base / "pkg/same.py").stat().st_mtime_ns == before


def test_only_files_of_the_same_distribution_inside_site_packages_are_candidates(
    tmp_path: Path,
) -> None:
    ours, base = tmp_path / "ours", tmp_path / "base"
    for site in (ours, base):
        (site / "same-1.0.dist-info").mkdir(parents=True)
    (ours / "newer-2.0.dist-info").mkdir()
    (base / "newer-1.0.dist-info").mkdir()
    (base / "same-1.0.dist-info" / "RECORD").write_text(
        "same/__init__.py,sha256=x,1\n"
        "same/data.json,sha256=x,1\n"
        "same/__pycache__/__init__.cpython-311.pyc,,\n"
        "../../../bin/same-tool.py,sha256=x,1\n"
        "/etc/evil.py,sha256=x,1\n"
        "same/../../escape.py,sha256=x,1\n"
    )
    (base / "newer-1.0.dist-info" / "RECORD").write_text("newer/__init__.py,sha256=x,1\n")
    assert list(shared_sources(base, [ours])) == ["same/__init__.py"]


def test_the_kernel_start_listing_is_relative_python_files() -> None:
    files = kernel_start_files()
    assert "ipykernel/kernelapp.py" in files and "IPython/core/interactiveshell.py" in files
    assert all(f.endswith(".py") and not f.startswith("/") and ".." not in f for f in files)
    assert len(files) == len(set(files))


def fresh_base(root: Path) -> Path:
    """A base as `create` installs it (uv, from the session's cache), nothing compiled."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    subprocess.run(
        [uv_bin(), "venv", "--quiet", "--relocatable", "--python", base_python(), str(root)],
        env=env,
        check=True,
    )
    subprocess.run(
        [
            uv_bin(),
            "pip",
            "install",
            "--quiet",
            "--python",
            str(root / "bin/python"),
            *BASE_PACKAGES,
        ],
        env=env,
        check=True,
    )
    return site_packages(root)


PROBE = """\
import json, os, sys
site = os.path.realpath({site!r}) + os.sep
files = [os.path.realpath(m.__file__)[len(site):] for m in list(sys.modules.values())
         if os.path.realpath(getattr(m, "__file__", None) or "/").startswith(site)]
print("FILES", json.dumps([f for f in files if f.endswith(".py")]))
"""


@pytest.mark.slow
def test_a_kernel_started_after_seeding_finds_its_byte_code(
    prepared_base: Path, uv_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The listing covers what a real kernel start reads: seeded from a compiled base of the
    same versions (the session's, fully compiled behind its first create), a fresh base
    has valid byte-code for what the kernel then imports, before it starts."""
    [compiled] = [p for p in prepared_base.iterdir() if not p.name.startswith(".")]
    monkeypatch.setenv("UV_CACHE_DIR", str(uv_cache))
    site = fresh_base(tmp_path / "base")
    assert seed(site, [site_packages(compiled)], kernel_start_files()) > 300
    ready = {str(py.relative_to(site)) for py in site.rglob("*.py") if valid(py)}

    spec = Path(os.environ["JUPYTER_DATA_DIR"]) / "kernels" / "fresh"
    spec.mkdir(parents=True)
    argv = [
        str(tmp_path / "base/bin/python"),
        "-m",
        "ipykernel_launcher",
        "-f",
        "{connection_file}",
    ]
    # As a venv kernel's: nothing on its path from the test's environment.
    kernel = {"argv": argv, "display_name": "fresh", "env": {"PYTHONPATH": ""}}
    (spec / "kernel.json").write_text(json.dumps(kernel))
    km, kc = start_new_kernel(kernel_name="fresh", startup_timeout=120)
    try:
        out = execute(kc, PROBE.format(site=str(site)))
    finally:
        km.shutdown_kernel(now=True)
    [line] = [line for line in out.splitlines() if line.startswith("FILES ")] or [out]
    read = json.loads(line.removeprefix("FILES "))
    assert len(read) > 200, out
    missing = [rel for rel in read if rel not in ready]
    # A new ipykernel may import a few more: the listing then wants writing again.
    assert len(missing) <= len(read) // 20, (
        f"{len(missing)} of the {len(read)} files a kernel start reads had no byte-code: "
        f"run scripts/kernel_start_files.py ({missing[:10]})"
    )


@pytest.mark.slow
def test_the_first_create_seeded_the_kernel_start_from_our_environment(
    prepared_base: Path,
) -> None:
    """The session's first `create` (prepared_base) copied the kernel start's byte-code
    from the environment jupyter-service runs in, where that has it (pip compiles what it
    installs; `scripts/test.sh` installs with pip)."""
    [base] = [p for p in prepared_base.iterdir() if not p.name.startswith(".")]
    ours = [Path(p) for p in our_site_dirs()]
    start = [rel for rel in kernel_start_files() if (site_packages(base) / rel).exists()]
    # What it could seed: files identical in our environment, with valid byte-code there.
    seedable = [
        rel
        for rel in start
        if any(
            (s / rel).exists()
            and (s / rel).read_bytes() == (site_packages(base) / rel).read_bytes()
            and valid(s / rel)
            for s in ours
        )
    ]
    if len(seedable) < len(start) // 2:
        pytest.skip(f"this environment has byte-code for {len(seedable)} of {len(start)} files")
    report = json.loads((base / COMPILED_MARKER).read_text())
    assert report["seeded_kernel_start"] >= len(seedable) - 5, report
    assert report["seeded"] >= report["seeded_kernel_start"]


def fake_base(root: Path) -> Path:
    (root / "lib/python3.11/site-packages").mkdir(parents=True)
    (root / "bin").mkdir()
    return root


def test_a_compile_that_cannot_start_fails_no_create(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Best effort: the base works without its byte-code (a kernel compiles what it
    imports). `create` goes on, says so, and the lock is left free for the next one."""
    from jupyter_service.venvs.build import compile_in_background
    from jupyter_service.venvs.compile_base import COMPILE_LOCK, take_lock

    # A base whose interpreter is gone: starting the compile fails for real.
    base = fake_base(tmp_path / "base")
    compile_in_background(base)
    assert "did not start (" in caplog.text and "No such file or directory" in caplog.text
    lock = take_lock(base)
    assert lock is not None
    os.close(lock)

    # A lock file that is a symlink (O_NOFOLLOW): the same.
    caplog.clear()
    other = fake_base(tmp_path / "other")
    (other / COMPILE_LOCK).symlink_to(tmp_path / "elsewhere")
    compile_in_background(other)
    assert "did not start (" in caplog.text
    assert not (tmp_path / "elsewhere").exists()
