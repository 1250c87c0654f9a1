"""`jupyter-venv-kernel`: the seed's Example Session with real venvs and kernels, bad names,
interrupted creates, and the verbs beyond the original."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import start_new_kernel
from traitlets.config import Config

from jupyter_service.config import load_config
from jupyter_service.paths import ServicePaths
from jupyter_service.server.kernelspecs import ServiceKernelSpecManager
from jupyter_service.server.settings import Runtime, render_server_settings
from jupyter_service.venv_cli import main
from jupyter_service.venvs import compile_base
from jupyter_service.venvs.build import COMPILED_MARKER, compile_in_background
from jupyter_service.venvs.layout import Layout

from .helpers import (
    execute,
    hash_password,
    pids_using,
    processes_using,
    shell_name,
    write_stable_generation,
)
from .wheels import make_wheel

pytestmark = pytest.mark.slow

RULE = (
    "the rule is 1 to 63 characters: lowercase letters a-z, digits, '-' and '_', "
    "starting with a letter or digit"
)


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("wheelhouse")
    make_wheel(directory, "tinypkg", "1.0", "tiny one")
    make_wheel(directory, "otherpkg", "2.5", "other")
    return directory


def pip_install_offline(venv: Path, wheelhouse: Path, requirement: str) -> None:
    """What a user's `pip install` in the venv does, from the test's own wheels."""
    subprocess.run(
        [
            str(venv / "bin/pip"),
            "install",
            "--quiet",
            "--no-index",
            "--find-links",
            str(wheelhouse),
            requirement,
        ],
        check=True,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): (p.lstat().st_mode, p.lstat().st_size)
        for p in sorted(root.rglob("*"))
    }


# -- the seed's Example Session ------------------------------------------------------------


def test_example_session(
    layout: Layout, wheelhouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["create", "llm-test"]) == 0
    assert capsys.readouterr().out == (
        "Creating venv for kernel 'llm-test'...\n"
        "Registering kernel...\n"
        "Kernel 'llm-test' created successfully!\n"
    )
    venv = layout.venvs / "llm-test"
    spec = KernelSpecManager().get_kernel_spec("llm-test")
    assert spec.display_name == "Python (llm-test)"
    assert spec.env["VIRTUAL_ENV"] == str(venv)
    assert spec.metadata["jupyter_service"]["tier"] == "experimental"

    km, kc = start_new_kernel(kernel_name="llm-test")
    try:
        where = execute(kc, "import sys; print(sys.prefix)\n!which python pip")
        assert where.split() == [str(venv), str(venv / "bin/python"), str(venv / "bin/pip")]
        installed = execute(
            kc,
            f"!pip install --quiet --no-index --find-links {wheelhouse} tinypkg\n"
            "import tinypkg; print(tinypkg.VALUE, tinypkg.__file__)",
        )
        assert f"tiny one {venv}/lib/python3." in installed, installed
        magic = execute(
            kc,
            f"%pip install --quiet --no-index --find-links {wheelhouse} otherpkg\n"
            "import otherpkg; print(otherpkg.VALUE)",
        )
        assert "other" in magic, magic
    finally:
        km.shutdown_kernel(now=True)
    # The kernel marked the venv as used (`list` shows it).
    assert (venv / ".jupyter-service-last-used").exists()
    # Installs went into this venv only: the base every venv is layered on is untouched.
    assert not list(layout.base_dir().glob("*/lib/python3.*/site-packages/tinypkg*"))

    assert main(["delete", "llm-test", "--yes"]) == 0
    assert capsys.readouterr().out.endswith("Kernel 'llm-test' deleted.\n")
    assert not venv.exists()
    assert "llm-test" not in KernelSpecManager().find_kernel_specs()


# -- names (SECURITY.md 24) --------------------------------------------------------------------

BAD_NAMES = ["../x", "a/b", "..", ".", "", "-rf", "py3\n", "Py3", "ü", "x" * 64]


@pytest.mark.parametrize("name", BAD_NAMES)
@pytest.mark.parametrize(
    "verb", [["create"], ["delete", "--yes"], ["shell"], ["export"], ["promote"]]
)
def test_bad_names_touch_nothing(
    bare_layout: Layout, name: str, verb: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    data = bare_layout.venvs.parent
    before = snapshot(data)
    assert main([*verb, name]) == 1
    err = capsys.readouterr().err
    assert (
        err
        == f"error: invalid kernel name {name!r}: {RULE}\nhint: pick a name such as `my-experiment`\n"
    )
    assert snapshot(data) == before


def test_bad_name_create_from(
    layout: Layout, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "r.txt").write_text("tinypkg\n")
    before = snapshot(layout.venvs.parent)
    assert main(["create-from", "..", str(tmp_path / "r.txt")]) == 1
    assert "invalid kernel name '..'" in capsys.readouterr().err
    assert snapshot(layout.venvs.parent) == before


# -- symlinks (SECURITY.md 25) -------------------------------------------------------------------


def test_symlinked_kernels_dir_is_refused(layout: Layout, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("keep")
    shutil.rmtree(layout.kernels, ignore_errors=True)
    layout.kernels.symlink_to(outside)
    assert main(["create", "evil"]) == 1
    assert sorted(p.name for p in outside.iterdir()) == ["keep"]
    assert not (layout.venvs / "evil").exists()


def test_symlinked_target_is_refused(
    layout: Layout, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "kernel.json").write_text("{}")
    layout.kernels.mkdir(exist_ok=True)
    (layout.kernels / "victim").symlink_to(outside)
    assert main(["delete", "victim", "--yes"]) == 1
    assert "it is a symlink" in capsys.readouterr().err
    assert (outside / "kernel.json").read_text() == "{}"


# -- clean-up by exact name, locks and base never through symlinks (SECURITY.md 35) ----------------


def test_cleaning_a_name_leaves_a_longer_names_work_alone(layout: Layout) -> None:
    from jupyter_service.venvs.build import temp_dir
    from jupyter_service.venvs.locks import name_lock

    # `ab-c` is being built by another command (it holds its lock) while `ab` is created.
    with name_lock(layout, "ab-c"):
        work = temp_dir(layout.venvs, "ab-c")
        (work / "half-built").write_text("x")
        assert main(["create", "ab"]) == 0
        assert main(["delete", "ab", "--yes"]) == 0
        assert (work / "half-built").read_text() == "x"
    # Once the lock is free, a killed `ab-c` run's leftover is cleaned by the next command.
    assert main(["list"]) == 0
    assert not work.exists()


def test_a_symlinked_lock_file_is_refused(
    layout: Layout, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    layout.locks_dir().mkdir(parents=True, exist_ok=True)
    (layout.locks_dir() / "victim.lock").symlink_to(outside / "created")
    assert main(["create", "victim"]) == 1
    assert "symlink" in capsys.readouterr().err
    assert list(outside.iterdir()) == []
    assert not (layout.venvs / "victim").exists()


def test_a_symlinked_base_is_refused(
    layout: Layout, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    [base] = [p for p in layout.base_dir().iterdir() if not p.name.startswith(".")]
    elsewhere = tmp_path / "elsewhere"
    base.rename(elsewhere)
    base.symlink_to(elsewhere)
    assert main(["create", "victim"]) == 1
    assert "symlink" in capsys.readouterr().err
    assert not (layout.venvs / "victim").exists()


# -- failures leave nothing ----------------------------------------------------------------------


def leftovers(layout: Layout, name: str) -> list[Path]:
    found = []
    for root in (layout.venvs, layout.kernels):
        if root.exists():
            found += [
                p for p in root.iterdir() if p.name == name or p.name.startswith(f".tmp-{name}-")
            ]
    # Its lock file too: nothing else would ever remove it.
    lock_file = layout.locks_dir() / f"{name}.lock"
    return found + ([lock_file] if lock_file.exists() else [])


def test_bad_requirement_leaves_nothing(
    layout: Layout, tmp_path: Path, wheelhouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(f"--no-index\n--find-links {wheelhouse}\nno-such-package-xyz==1.0\n")
    assert main(["create-from", "broken", str(reqs)]) == 1
    err = capsys.readouterr().err
    # After uv's own lines (its progress, line by line when not on a terminal).
    said = f"error: installing {reqs} failed; nothing was created: `"
    assert any(line.startswith(said) for line in err.splitlines()), err
    assert "exited with status" in err and "no-such-package-xyz" in err
    assert "full log: " in err
    assert leftovers(layout, "broken") == []


def test_create_from_with_includes_and_constraints(
    layout: Layout, tmp_path: Path, wheelhouse: Path
) -> None:
    (tmp_path / "constraints.txt").write_text("otherpkg==2.5\n")
    (tmp_path / "more.txt").write_text("otherpkg\n")
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(
        f"--no-index\n--find-links {wheelhouse}\n-r more.txt\n-c constraints.txt\ntinypkg\n"
    )
    assert main(["create-from", "project", str(reqs)]) == 0
    site = next((layout.venvs / "project" / "lib").glob("python3.*/site-packages"))
    assert (site / "tinypkg.py").exists() and (site / "otherpkg.py").exists()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_killed_create_leaves_nothing(
    layout: Layout, tmp_path: Path, stalling_index: str, sig: int
) -> None:
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(f"--index-url {stalling_index}\ntinypkg\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_service.venv_cli", "create-from", "victim", str(reqs)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("Installing packages from"):
            break
    # The signal lands while uv runs (what this checks), however loaded the machine: not
    # after a fixed sleep, which could land before uv started or find the run still starting.
    deadline = time.monotonic() + 120
    while not any(p.split(" ", 1)[0].endswith("/uv") for p in processes_using(layout.venvs)):
        assert time.monotonic() < deadline, "uv never started"
        assert proc.poll() is None, "create-from ended before uv ran"
        time.sleep(0.05)
    proc.send_signal(sig)
    proc.wait(timeout=120)
    # Its uv went with it: nothing keeps writing into the venvs dir.
    deadline = time.monotonic() + 30
    while processes_using(layout.venvs) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_using(layout.venvs) == []
    assert not (layout.venvs / "victim").exists()
    assert not (layout.kernels / "victim").exists()
    if sig != signal.SIGKILL:
        assert leftovers(layout, "victim") == []
    # The next run cleans what a SIGKILL left, and works.
    assert main(["list"]) == 0
    assert leftovers(layout, "victim") == []
    assert main(["create", "victim"]) == 0


def test_concurrent_creates_one_wins(layout: Layout) -> None:
    cmd = [sys.executable, "-m", "jupyter_service.venv_cli", "create", "race"]
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    assert sorted(code for code, _, _ in results) == [0, 1]
    [(_, _, err)] = [r for r in results if r[0] == 1]
    assert err.startswith(
        (
            "error: kernel 'race' already exists",
            "error: another jupyter-venv-kernel command is working on kernel 'race' right now",
        )
    ), err


def test_the_first_create_leaves_byte_compiling_the_base_to_the_background(
    prepared_base: Path,
) -> None:
    """The first create answers once the base is installed (prepared_base waited for the
    compile after it): byte-code for all of the base, what a kernel start imports first."""
    [base] = [p for p in prepared_base.iterdir() if not p.name.startswith(".")]
    assert (base / COMPILED_MARKER).is_file()
    site = next(base.glob("lib/python3.*/site-packages"))
    tag = sys.implementation.cache_tag
    sources = [
        py
        for package in ("ipykernel", "IPython", "zmq", "tornado", "jupyter_client", "ipywidgets")
        for py in (site / package).rglob("*.py")
    ]
    assert len(sources) > 200
    missing = [
        py for py in sources if not (py.parent / "__pycache__" / f"{py.stem}.{tag}.pyc").exists()
    ]
    assert missing == []


def test_the_background_compile_runs_at_idle_priority(layout: Layout) -> None:
    """A kernel started while the base compiles must not wait for the compile: once it has
    copied the kernel start's byte-code (a tenth of a second), it runs with Linux's idle
    scheduling (it gets a CPU only when nothing else wants it)."""
    [base] = [p for p in layout.base_dir().iterdir() if not p.name.startswith(".")]
    (base / COMPILED_MARKER).unlink()
    site = next(base.glob("lib/python3.*/site-packages"))
    for package in ("IPython", "jedi", "prompt_toolkit"):  # seconds of work left for it
        for cache in list((site / package).rglob("__pycache__")):
            shutil.rmtree(cache)
    compile_in_background(base)
    # Held from the moment `create` returns: a second `create` right behind starts none.
    assert compile_base.take_lock(base) is None, "the compile lock was free"

    def policies() -> list[int]:
        found = []
        for pid in pids_using(base):
            with contextlib.suppress(ProcessLookupError):
                found.append(os.sched_getscheduler(pid))
        return found

    # Seen as soon as it is set, while it still has work.
    deadline = time.monotonic() + 60
    while policies() != [os.SCHED_IDLE]:
        assert not (base / COMPILED_MARKER).exists(), "it compiled without idle priority"
        assert time.monotonic() < deadline, f"no idle compile: {policies()}"
        time.sleep(0.01)
    deadline = time.monotonic() + 600
    while not (base / COMPILED_MARKER).exists():
        assert time.monotonic() < deadline, "the compile did not finish"
        time.sleep(0.2)


# -- list, delete, shell, export, promote ------------------------------------------------------


@pytest.mark.parametrize("stable_python", [True, False])
def test_list_shows_what_the_server_offers_tier_by_tier(
    layout: Layout,
    service_environ: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    stable_python: bool,
) -> None:
    """In a Jupyter terminal (the server's config in the environment), `list` shows the
    server's kernels: the current generation's stable ones, the venv kernels, and the
    service's own 'Python 3 (ipykernel)' only where the server does not hide it."""
    assert main(["create", "mine"]) == 0
    write_stable_generation(service_environ, tmp_path / "store")
    config = tmp_path / "config.toml"
    config.write_text(
        f'enable = true\npassword = "{hash_password("s3cret")}"\n'
        f"[extraKernels.python-base]\nenable = {str(stable_python).lower()}\n"
    )
    monkeypatch.setenv("JUPYTER_SERVICE_CONFIG", str(config))
    capsys.readouterr()
    assert main(["list", "--json"]) == 0
    listed = {k["name"]: k["tier"] for k in json.loads(capsys.readouterr().out)["kernels"]}

    # The server's own kernelspec manager, configured as `up` configures it.
    runtime = Runtime(
        notebook_dir=str(tmp_path),
        tools_dir=None,
        terminal_rc=None,
        stable_kernel_dir=str(ServicePaths(service_environ).current_kernels),
    )
    settings = render_server_settings(load_config(config), runtime)
    served = ServiceKernelSpecManager(config=Config(settings)).get_all_specs()
    assert set(listed) == set(served)
    assert listed["python-base"] == "stable" and listed["mine"] == "experimental"
    assert ("python3" in listed) is not stable_python

    assert main(["list"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("Stable kernels (generation 1):\n  python-base  Python (base)\n\n")
    assert "\nExperimental venv kernels:\n  NAME " in text
    assert ("Python 3 (ipykernel)" in text) is not stable_python

    # In the server's terminals and kernels its own decision, made at its start, counts.
    monkeypatch.setenv("JUPYTER_SERVICE_HIDES_PYTHON", "0" if stable_python else "1")
    assert main(["list", "--json"]) == 0
    listed = {k["name"] for k in json.loads(capsys.readouterr().out)["kernels"]}
    assert ("python3" in listed) is stable_python


def test_list_shows_venvs_and_broken_kernelspecs(
    layout: Layout, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["create", "alive"]) == 0
    assert main(["create", "gone"]) == 0
    shutil.rmtree(layout.venvs / "gone")  # deleted by hand
    capsys.readouterr()
    assert main(["list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    kernels = {k["name"]: k for k in data["kernels"]}
    assert kernels["alive"]["display_name"] == "Python (alive)"
    assert kernels["alive"]["tier"] == "experimental"
    venvs = {v["name"]: v for v in data["venvs"]}
    assert venvs["alive"]["status"] == "ok"
    # Layered on the shared base: it imports the base's packages, and holds almost nothing.
    assert venvs["alive"]["packages"] >= 20 and 0 < venvs["alive"]["size"] < 1_000_000
    assert venvs["alive"]["created"] <= time.time() and venvs["alive"]["last_used"] is None
    assert venvs["gone"]["status"] == "broken: venv missing"

    assert main(["list"]) == 0
    text = capsys.readouterr().out
    assert "Experimental venv kernels:" in text
    assert (
        "gone" in text
        and f"broken: venv missing; remove with `{shell_name('jupyter-venv-kernel')} delete gone`"
        in text
    )

    assert main(["delete", "gone", "--yes"]) == 0
    assert not (layout.kernels / "gone").exists()


def test_delete_errors(layout: Layout, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["delete", "nothing", "--yes"]) == 1
    assert capsys.readouterr().err == (
        "error: no venv kernel named 'nothing'\n"
        f"hint: see the names with `{shell_name('jupyter-venv-kernel')} list`\n"
    )
    foreign = layout.kernels / "foreign"
    foreign.mkdir(parents=True)
    (foreign / "kernel.json").write_text(json.dumps({"argv": ["x"], "display_name": "X"}))
    assert main(["delete", "foreign", "--yes"]) == 1
    assert "was not made by jupyter-venv-kernel; leaving it alone" in capsys.readouterr().err
    assert (foreign / "kernel.json").exists()


def test_delete_without_terminal_needs_yes(
    layout: Layout, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["create", "keepme"]) == 0
    assert main(["delete", "keepme"]) == 1
    assert "hint: add --yes to delete without asking" in capsys.readouterr().err
    assert (layout.venvs / "keepme").is_dir()


def test_shell_runs_command_in_venv(layout: Layout) -> None:
    assert main(["create", "shelly"]) == 0
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyter_service.venv_cli",
            "shell",
            "shelly",
            "--",
            "sh",
            "-c",
            'echo "$VIRTUAL_ENV"; command -v python; python -c "import sys; print(sys.prefix)"',
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    venv = layout.venvs / "shelly"
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [str(venv), str(venv / "bin/python"), str(venv)]


def test_export_then_create_from_reproduces(
    layout: Layout, tmp_path: Path, wheelhouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reqs = tmp_path / "r.txt"
    reqs.write_text(f"--no-index\n--find-links {wheelhouse}\ntinypkg==1.0\n")
    assert main(["create-from", "original", str(reqs)]) == 0
    capsys.readouterr()
    assert main(["export", "original"]) == 0
    exported = capsys.readouterr().out
    assert "\ntinypkg==1.0\n" in exported and "\n#   ipykernel==" in exported
    pinned = tmp_path / "pinned.txt"
    # Offline: the export pins what the venv adds to the base (tinypkg).
    pinned.write_text(f"--no-index\n--find-links {wheelhouse}\n" + exported)
    assert main(["create-from", "copy", str(pinned)]) == 0
    capsys.readouterr()
    assert main(["export", "copy"]) == 0
    copy = capsys.readouterr().out
    strip = lambda text: [line for line in text.splitlines() if not line.startswith("#")]  # noqa: E731
    assert strip(copy) == strip(exported)


CONFIG_WITH_COMMENTS = """\
# Team Jupyter service
enable = true
password = "argon2:$argon2id$v=19$m=10240,t=10,p=8$4XvOqzIPU/sWsC3LYqL4jQ$+58oZlS4ye9E8YQzuPrw8E6gCnvaGhnUeRjtd4qtmVI"

[extraKernels.python-base]
enable = true  # the default stack
extraPackages = [
  "requests",  # HTTP
]

[extraKernels.ml]
language = "python"
packages = ["numpy"]
"""


def test_promote_keeps_comments(
    layout: Layout, tmp_path: Path, wheelhouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["create", "proto"]) == 0
    venv = layout.venvs / "proto"
    pip_install_offline(venv, wheelhouse, "tinypkg")
    config = tmp_path / "config.toml"
    config.write_text(CONFIG_WITH_COMMENTS)
    capsys.readouterr()
    assert main(["promote", "proto", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert (
        '+  "tinypkg==1.0",\n' in out or '+"tinypkg==1.0"' in out or '+  "tinypkg==1.0"' in out
    ), out
    text = config.read_text()
    assert text.startswith("# Team Jupyter service\n")
    assert '"requests",  # HTTP' in text and "# the default stack" in text
    assert "tinypkg==1.0" in text
    for dependency in ("ipykernel", "ipython", "traitlets", "pip"):
        assert dependency not in text
    # Promoting again adds nothing.
    assert main(["promote", "proto", "--config", str(config)]) == 0
    assert "Nothing new" in capsys.readouterr().out
    # Into another stable kernel's `packages`.
    assert main(["promote", "proto", "--to", "ml", "--config", str(config)]) == 0
    assert 'packages = ["numpy", "tinypkg==1.0"]' in config.read_text()
    assert main(["promote", "proto", "--to", "nope", "--config", str(config)]) == 1
    assert "the config has no stable kernel [extraKernels.nope]" in capsys.readouterr().err


def test_interactive_shell_prompt_says_venv(layout: Layout) -> None:
    assert main(["create", "inter"]) == 0
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["SHELL"] = "/bin/bash"
    proc = subprocess.run(
        [sys.executable, "-m", "jupyter_service.venv_cli", "shell", "inter"],
        input='echo "venv=$VIRTUAL_ENV"; python -c "import sys; print(sys.prefix)"; exit\n',
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    venv = layout.venvs / "inter"
    assert proc.returncode == 0, proc.stderr
    assert "Entering venv of kernel 'inter'" in proc.stdout
    assert f"venv={venv}\n{venv}\n" in proc.stdout
    assert "(venv-kernel:inter) " in proc.stderr  # bash -i prints its prompt there


def test_stable_kernel_names_are_refused(
    bare_layout: Layout, service_environ: Path, capsys: pytest.CaptureFixture[str]
) -> None:

    stable = ServicePaths(service_environ).current_kernels / "python-base"
    stable.mkdir(parents=True)
    (stable / "kernel.json").write_text(
        json.dumps({"argv": ["x"], "display_name": "Python (base)"})
    )
    before = snapshot(bare_layout.venvs.parent)
    for name, why in (("python-base", "python-base"), ("base", "python-base")):
        assert main(["create", name]) == 1
        assert capsys.readouterr().err == (
            f"error: '{name}' is taken by the stable kernel '{why}' (Python (base))\n"
            f"hint: pick another name, such as `{name}-dev`\n"
        )
    assert snapshot(bare_layout.venvs.parent) == before


def test_upgrading_a_base_package_stays_in_the_venv(layout: Layout, tmp_path: Path) -> None:
    """The base is shared by every venv kernel: pip upgrading one of its packages in a venv
    installs the new version into that venv, which shadows the base's, untouched."""
    make_wheel(tmp_path / "wh", "comm", "99.0", "shadow")
    assert main(["create", "upgrader"]) == 0
    venv = layout.venvs / "upgrader"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    base_files = snapshot(layout.base_dir())
    pip_install_offline(venv, tmp_path / "wh", "comm==99.0")
    seen = subprocess.run(
        [str(venv / "bin/python"), "-c", "import comm; print(comm.VALUE, comm.__file__)"],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    ).stdout
    assert seen.startswith(f"shadow {venv}/lib/python3."), seen
    assert snapshot(layout.base_dir()) == base_files
    assert main(["create", "neighbour"]) == 0
    other = subprocess.run(
        [
            str(layout.venvs / "neighbour/bin/python"),
            "-c",
            "import comm; print(hasattr(comm, 'VALUE'))",
        ],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    ).stdout
    assert other == "False\n"
