"""Stable Haskell kernels: Hackage names checked against the Debian snapshot, locked from
Debian's builds, a package DB per kernel, drift refused; with Debian's real ghc."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_service.config import parse_config, stable_kernel
from jupyter_service.kernels import StableKernel
from jupyter_service.kernels.haskell import debian, pkgdb
from jupyter_service.kernels.haskell.backend import (
    HaskellLanguage,
    describe_drift,
    describe_mismatch,
    render_kernelspec,
)
from jupyter_service.store.manifest import ManifestEntry

from .helpers import (
    BASE_URL,
    PASSWORD,
    Service,
    free_port,
    hash_password,
    login,
    run_in_kernel,
    service_cmd,
)
from .stable_fixtures import PASSWORD_HASH, cli

HEAD = f"enable = true\npassword = {json.dumps(PASSWORD_HASH)}\n"
# The original's Quick Start, its Haskell table unchanged.
QUICK_START_HASKELL = """
# Stable Haskell kernel
[extraKernels.ihaskell]
enable = true
extraPackages = ["lens", "aeson", "vector"]
"""
# The original's whole example list.
EXAMPLE_SET = [
    *("lens", "lens-aeson", "aeson", "vector", "containers", "text", "bytestring"),
    *("ihaskell-hvega", "hvega", "diagrams", "diagrams-cairo"),
    *("wreq", "http-client", "http-client-tls", "statistics", "scientific"),
]


# -- pure: the snapshot, check, drift, kernelspec ------------------------------------------

DUMPAVAIL = """\
Package: libghc-quickcheck2-dev
Version: 2.14.2-1+b3
Provides: libghc-quickcheck-dev-2.14.2-eab42
Depends: libghc-base-dev-4.15.1.0-6a406

Package: libghc-quickcheck2-prof
Provides: libghc-quickcheck-prof-2.14.2-eab42

Package: ghc
Version: 9.0.2-4
Provides: ghc-dynamic, libghc-base-dev (= 4.15.1.0), libghc-base-dev-4.15.1.0-6a406,
 libghc-containers-dev-0.6.4.1-31c3b, haddock-interface-38

Package: libghc-src-exts-dev
Provides: libghc-haskell-src-exts-dev-1.23.1-9d1a2
"""


def test_snapshot_maps_hackage_names_from_provides() -> None:
    snapshot = debian.render_snapshot(DUMPAVAIL)
    assert snapshot["ghc"] == "9.0.2"
    assert snapshot["packages"] == {
        "base": ["ghc", "4.15.1.0"],
        "containers": ["ghc", "0.6.4.1"],
        "haskell-src-exts": ["libghc-src-exts-dev", "1.23.1"],
        "quickcheck": ["libghc-quickcheck2-dev", "2.14.2"],
    }
    text = debian.render_snapshot_text(snapshot)
    assert json.loads(text) == snapshot
    assert '\n"haskell-src-exts": ["libghc-src-exts-dev", "1.23.1"],\n' in text


def test_the_committed_snapshot_resolves_the_originals_names() -> None:
    assert debian.find_debian_package("QuickCheck") == debian.DebianPackage(
        "libghc-quickcheck2-dev", "2.14.2"
    )
    assert debian.find_debian_package("lens") == debian.DebianPackage("libghc-lens-dev", "5.0.1")
    assert debian.find_debian_package("containers") == debian.DebianPackage("ghc", "0.6.4.1")
    assert debian.expand_bundles(["lens", "diagrams", "diagrams-svg"]) == [
        *("lens", "diagrams-core", "diagrams-lib", "diagrams-svg", "diagrams-cairo")
    ]
    available = [n for n in EXAMPLE_SET if debian.unavailable_reason(n) is None]
    assert available == [n for n in EXAMPLE_SET if n not in ("ihaskell-hvega", "hvega")]


def test_check_rejects_what_debian_does_not_carry_with_the_alternative() -> None:
    text = HEAD + f"[extraKernels.ihaskell]\nextraPackages = {json.dumps(EXAMPLE_SET)}\n"
    text += '[extraKernels.hs]\nlanguage = "haskell"\npackages = ["optics", "aeson"]\n'
    vega = (
        "for Vega-Lite, the kernel's built-in `vegaLite :: Data.Aeson.Value -> IO ()` "
        "(with aeson among the packages) displays a spec written as an aeson Value"
    )
    assert parse_config(text)[1] == [
        (
            "extraKernels.ihaskell.extraPackages",
            f"'ihaskell-hvega' is not available: no Debian package provides it; {vega}",
        ),
        (
            "extraKernels.ihaskell.extraPackages",
            f"'hvega' is not available: no Debian package provides it; {vega}",
        ),
        ("extraKernels.hs.packages", "'optics' is not available: no Debian package provides it"),
    ]


def test_heap_limit_is_checked_and_only_for_haskell_kernels() -> None:
    text = HEAD + '[extraKernels.ihaskell]\nenable = true\nheapLimit = "4 GB"\n'
    text += '[extraKernels.small]\nlanguage = "python"\nheapLimit = "1g"\n'
    assert parse_config(text)[1] == [
        (
            "extraKernels.ihaskell.heapLimit",
            "'4 GB' is not a heap size; allowed: a size as GHC's +RTS -M takes it, such as "
            "'4g' or '512m', or 'none' for no limit",
        )
    ]
    text = text.replace('"4 GB"', '"none"')
    assert parse_config(text)[1] == [
        ("extraKernels.small.heapLimit", "a heap limit applies to Haskell kernels only")
    ]


def test_check_command_names_hvega(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text(HEAD + '[extraKernels.ihaskell]\nenable = true\nextraPackages = ["hvega"]\n')
    code, out, err = cli(capsys, "check", "--config", str(config))
    assert (code, out) == (1, "")
    assert (
        "  extraKernels.ihaskell.extraPackages: 'hvega' is not available: no Debian package "
        "provides it; for Vega-Lite, the kernel's built-in `vegaLite"
    ) in err


PACKAGES = [
    pkgdb.InstalledPackage("base", "4.15.1.0", "base-4.15.1.0", "a1", ("ghc-prim-0.7.0",)),
    pkgdb.InstalledPackage("ghc-prim", "0.7.0", "ghc-prim-0.7.0", "a2", ()),
    pkgdb.InstalledPackage("lens", "5.0.1", "lens-5.0.1-X", "a3", ("base-4.15.1.0", "mtl-2.2.2")),
    pkgdb.InstalledPackage("mtl", "2.2.2", "mtl-2.2.2", "a4", ("base-4.15.1.0",)),
    pkgdb.InstalledPackage("aeson", "2.0.3.0", "aeson-2.0.3.0-Y", "a5", ("base-4.15.1.0",)),
]


def test_closure_is_base_and_the_requested_with_their_dependencies() -> None:
    closure, missing = pkgdb.find_closure(PACKAGES, ["Lens", "wreq"])
    assert [p.id for p in closure] == [
        "base-4.15.1.0",
        "ghc-prim-0.7.0",
        "lens-5.0.1-X",
        "mtl-2.2.2",
    ]
    assert missing == ["wreq"]
    dump = "name: lens\nversion: 5.0.1\nid:\n    lens-5.0.1-X\nabi: a3\ndepends:\n    base-4.15.1.0\n    mtl-2.2.2\n---\nname: mtl\nid: mtl-2.2.2\n"
    assert [(p.id, p.depends) for p in pkgdb.parse_dump(dump)] == [
        ("lens-5.0.1-X", ("base-4.15.1.0", "mtl-2.2.2")),
        ("mtl-2.2.2", ()),
    ]


def kernel(*packages: str) -> StableKernel:
    table = {"enable": True, "package": "ihaskell", "extraPackages": list(packages)}
    return stable_kernel("ihaskell", table)


GHC = pkgdb.Ghc("/usr/bin/ghc", "/usr/bin/ghc-pkg", "9.0.2", Path("/usr/lib/ghc/package.conf.d"))
LOCK = {
    "requested": ["lens"],
    "ghc": "9.0.2",
    "packages": [
        {
            "id": "lens-5.0.1-X",
            "abi": "a3",
            "debian": "libghc-lens-dev",
            "debianVersion": "5.0.1-2",
        },
        {"id": "base-4.15.1.0", "abi": "a1", "debian": "ghc", "debianVersion": "9.0.2-4"},
    ],
}


def test_mismatch_and_drift_are_named() -> None:
    assert describe_mismatch(LOCK, kernel("lens"), GHC) == ""
    assert describe_mismatch(LOCK, kernel("lens", "aeson"), GHC) == (
        "the config asks for aeson which the lock lacks"
    )
    newer = pkgdb.Ghc(GHC.ghc, GHC.ghc_pkg, "9.2.1", GHC.global_db)
    assert describe_mismatch(LOCK, kernel(), newer) == (
        "the lock has lens which the config dropped; "
        "the lock is for GHC 9.0.2, the installed GHC is 9.2.1"
    )
    installed = {"libghc-lens-dev": "5.0.1-2", "ghc": "9.0.2-4"}
    assert describe_drift(LOCK, PACKAGES, installed) == []
    rebuilt = [pkgdb.InstalledPackage("lens", "5.0.1", "lens-5.0.1-X", "b3", ()), *PACKAGES[:1]]
    assert describe_drift(LOCK, rebuilt, {**installed, "libghc-lens-dev": "5.0.1-3"}) == [
        "libghc-lens-dev is 5.0.1-3, the lock has 5.0.1-2",
        "lens-5.0.1-X has ABI b3, the lock has a3",
    ]
    assert describe_drift(LOCK, PACKAGES[:1], {"ghc": "9.0.2-4"}) == [
        "libghc-lens-dev is not installed, the lock has 5.0.1-2",
        "lens-5.0.1-X is not in GHC's package DB",
    ]


def test_kernelspec_runs_our_kernel_with_only_the_kernels_db_or_the_real_ihaskell() -> None:
    details = {"ghc": "9.0.2", "ghcPath": "/usr/bin/ghc", "python": "/venv/bin/python"}
    entry = ManifestEntry(
        "haskell", "/s/store/abc-ihaskell", "f" * 64, "Haskell (GHC 9.0.2)", {"A": "1"},
        {**details, "packages": "lens aeson"},
    )  # fmt: skip
    assert render_kernelspec("ihaskell", entry, 3) == {
        "argv": [
            *("/venv/bin/python", "-m", "jupyter_service.kernels.haskell.ghci"),
            *("-f", "{connection_file}", "--ghc", "/usr/bin/ghc"),
            *("--package-db", "/s/store/abc-ihaskell/package.conf.d"),
            *("--package", "lens", "--package", "aeson"),
        ],
        "display_name": "Haskell (GHC 9.0.2)",
        "language": "haskell",
        "interrupt_mode": "signal",
        "env": {"LANG": "C.UTF-8", "A": "1"},
        "metadata": {"jupyter_service": {"tier": "stable", "generation": 3, "lock": "f" * 64}},
    }
    real = ManifestEntry(
        "haskell", entry.store_path, entry.lock_sha256, entry.display_name, {},
        {**details, "ihaskell": "/opt/ihaskell/bin/ihaskell"},
    )  # fmt: skip
    assert render_kernelspec("ihaskell", real, 3)["argv"] == [
        "/opt/ihaskell/bin/ihaskell",
        "kernel",
        "{connection_file}",
    ]


# -- real: lock, switch, the package DB, drift ---------------------------------------------


@pytest.fixture
def quick_start(tmp_path: Path) -> Path:
    config = tmp_path / "admin" / "config.toml"
    config.parent.mkdir()
    config.write_text(HEAD + QUICK_START_HASKELL)
    return config


def run_ghci(db: Path, packages: list[str], script: str) -> str:
    """ghci as our kernelspec starts it: only the kernel's DB, only its packages exposed."""
    cmd = ["ghc", "--interactive", "-ignore-dot-ghci", "-clear-package-db", "-package-db"]
    cmd += [str(db), "-hide-all-packages", "-package", "base"]
    for package in packages:
        cmd += ["-package", package]
    proc = subprocess.run(cmd, input=script, capture_output=True, text=True, timeout=120)
    return proc.stdout + proc.stderr


@pytest.mark.slow
def test_quick_start_locks_switches_and_its_db_holds_exactly_the_closure(
    quick_start: Path, service_environ: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = service_environ
    code, out, err = cli(capsys, "lock", "--config", str(quick_start))
    assert code == 0, err
    assert err == "locking ihaskell (GHC 9.0.2)\n"
    lock_file = quick_start.parent / "config.lock" / "ihaskell" / "packages.lock.json"
    lock = json.loads(lock_file.read_text())
    assert lock["ghc"] == "9.0.2" and lock["requested"] == ["lens", "aeson", "vector"]
    by_name = {p["name"]: p for p in lock["packages"]}
    assert {"base", "lens", "aeson", "vector", "containers"} <= set(by_name)
    assert by_name["lens"]["debian"] == "libghc-lens-dev" and by_name["base"]["debian"] == "ghc"
    assert all(p["id"] and p["debianVersion"] for p in lock["packages"])
    assert all(p["abi"] for p in lock["packages"] if p["name"] != "rts")
    assert cli(capsys, "lock", "--config", str(quick_start))[1].startswith("lock unchanged")

    code, out, err = cli(capsys, "switch", "--config", str(quick_start))
    assert (code, out) == (0, "switched to generation 1: ihaskell\n"), err
    spec = json.loads((state / "current" / "kernels" / "ihaskell" / "kernel.json").read_text())
    assert spec["display_name"] == "Haskell (GHC 9.0.2)" and spec["language"] == "haskell"
    db = Path(spec["argv"][spec["argv"].index("--package-db") + 1])
    assert db.parent.parent == state / "store" and db.parent.name.endswith("-ihaskell")
    assert spec["argv"][-6:] == ["--package", "lens", "--package", "aeson", "--package", "vector"]
    assert sorted(p.name for p in db.glob("*.conf")) == sorted(
        f"{p['id']}.conf" for p in lock["packages"]
    )
    assert all(p.is_symlink() for p in db.glob("*.conf")) and (db / "package.cache").is_file()
    assert cli(capsys, "switch", "--config", str(quick_start))[1] == (
        "nothing to do: generation 1 is current\n"
    )
    assert "--heap-limit" not in spec["argv"]  # the kernel's own default, 4g

    # A heap limit is the kernelspec's, not the store path's: a new generation, no rebuild.
    quick_start.write_text(quick_start.read_text() + 'heapLimit = "512m"\n')
    code, out, err = cli(capsys, "switch", "--config", str(quick_start))
    assert (code, out) == (0, "switched to generation 2: ihaskell\n"), err
    spec2 = json.loads((state / "current" / "kernels" / "ihaskell" / "kernel.json").read_text())
    assert spec2["argv"][-2:] == ["--heap-limit", "512m"]
    assert spec2["argv"][: len(spec["argv"])] == spec["argv"] and "building" not in err

    script = (
        "import Control.Lens\nimport qualified Data.Vector as V\nimport Data.Aeson\n"
        "print (V.sum (V.fromList [1 .. 10 :: Int]), (1 :: Int, 'x') ^. _2)\n"
        "print (encode [1 :: Int, 2])\n"
        "import Data.Map\n"
    )
    answer = run_ghci(db, ["lens", "aeson", "vector"], script)
    assert "(55,'x')" in answer and '"[1,2]"' in answer, answer
    # containers is in the DB (lens needs it) but was not asked for: hidden.
    assert "It is a member of the hidden package" in answer, answer
    # A package outside the closure is not in the DB at all.
    assert "cannot satisfy -package stm" in run_ghci(db, ["stm"], "1\n") or "stm" in [
        p["name"] for p in lock["packages"]
    ]


@pytest.mark.slow
def test_switch_and_doctor_refuse_a_lock_the_installed_debian_packages_differ_from(
    quick_start: Path, service_environ: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(capsys, "lock", "--config", str(quick_start))[0] == 0
    lock_file = quick_start.parent / "config.lock" / "ihaskell" / "packages.lock.json"
    lock = json.loads(lock_file.read_text())
    (lens,) = [p for p in lock["packages"] if p["name"] == "lens"]
    installed = lens["debianVersion"]
    lens["debianVersion"], lens["abi"] = "4.0-1", "0" * 32
    lock_file.write_text(json.dumps(lock))
    code, out, err = cli(capsys, "switch", "--config", str(quick_start))
    assert (code, out) == (1, "")
    assert err == (
        "error: the installed Debian packages differ from the lock of stable kernel ihaskell: "
        f"libghc-lens-dev is {installed}, the lock has 4.0-1; "
        f"{lens['id']} has ABI {_abi(lens['id'])}, the lock has {'0' * 32}. "
        f"To serve what is installed instead, run `{service_cmd('lock', '--config', quick_start)}` "
        "and commit the lock\n"
        "hint: apt-get install -y --allow-downgrades libghc-lens-dev=4.0-1\n"
    )
    assert not (service_environ / "current").exists()
    code, out, _ = cli(capsys, "doctor", "--config", str(quick_start), "--no-kernels", "--json")
    checks = [c for c in json.loads(out)["checks"] if c["check"] == "lock"]
    assert [(c["subject"], c["status"]) for c in checks] == [("ihaskell", "fail")]
    assert checks[0]["finding"].startswith("the installed Debian packages differ from the lock")
    # Locking again records what is installed: switch then builds.
    assert cli(capsys, "lock", "--config", str(quick_start))[0] == 0
    assert cli(capsys, "switch", "--config", str(quick_start))[0] == 0


def _abi(package_id: str) -> str:
    ghc = pkgdb.find_ghc()
    (found,) = [p for p in pkgdb.read_global_packages(ghc) if p.id == package_id]
    return found.abi


# -- real: `up` with the Quick Start's Haskell table, a notebook, doctor -------------------

# The Quick Start's packages at work: a lens over a vector, aeson's encoding.
EXAMPLE = """\
:set -XOverloadedStrings
import Control.Lens
import qualified Data.Aeson as A
import qualified Data.Vector as V
let v = V.fromList [1 .. 10 :: Int]
print (V.sum v, V.map (* 2) v ^? ix 3, (v, 'x') ^. _2)
print (A.encode (A.object ["total" A..= V.sum v, "doubled" A..= V.map (* 2) (V.take 3 v)]))
"""
EXAMPLE_OUTPUT = "(55,Just 8,'x')\n" + '"{\\"doubled\\":[2,4,6],\\"total\\":55}"\n'


@pytest.mark.slow
def test_up_serves_the_quick_start_haskell_kernel_and_doctor_starts_it(tmp_path: Path) -> None:
    root = tmp_path / "svc"
    port = free_port()
    head = (
        f"enable = true\nport = {port}\nbaseUrl = {json.dumps(BASE_URL)}\n"
        f"notebookDir = {json.dumps(str(root / 'notebooks'))}\n"
        f"password = {json.dumps(hash_password(PASSWORD))}\n"
    )
    config = root / "admin" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(head + QUICK_START_HASKELL)
    service = Service(root, config, port)
    try:
        service.wait_ready(timeout=240)
        started = service.output()
        assert "locking ihaskell (GHC 9.0.2)" in started, started
        assert "switched to generation 1" in started and "does not build" not in started
        session = login(service)
        specs = session.get(service.url("api/kernelspecs"), timeout=30).json()["kernelspecs"]
        spec = specs["ihaskell"]["spec"]
        assert (spec["display_name"], spec["language"]) == ("Haskell (GHC 9.0.2)", "haskell")
        assert spec["metadata"]["jupyter_service"]["tier"] == "stable"
        assert run_in_kernel(service, session, EXAMPLE, kernel_name="ihaskell") == EXAMPLE_OUTPUT
        # A module of a package the config did not ask for (containers: only lens's
        # dependency) is an error in the notebook.
        refused = run_in_kernel(service, session, "import Data.Map", kernel_name="ihaskell")
        assert "Could not load module \u2018Data.Map\u2019" in refused, refused
        assert "It is a member of the hidden package \u2018containers-" in refused, refused
    finally:
        assert service.stop() == 0, service.output()
    doctor = subprocess.run(
        [sys.executable, "-m", "jupyter_service", "doctor", "--config", str(config), "--json"],
        env=service.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    checks = {(c["check"], c["subject"]): c for c in json.loads(doctor.stdout)["checks"]}
    assert checks[("kernel", "ihaskell")]["status"] == "ok", checks[("kernel", "ihaskell")]
    assert checks[("kernel", "ihaskell")]["finding"] == (
        "Haskell (GHC 9.0.2) starts and answers `1+1` with 2"
    )
    assert checks[("lock", "ihaskell")]["status"] == "ok"


@pytest.mark.slow
def test_switch_as_a_user_prints_the_apt_get_line_and_changes_nothing(
    quick_start: Path,
    service_environ: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert cli(capsys, "lock", "--config", str(quick_start))[0] == 0
    lock_file = quick_start.parent / "config.lock" / "ihaskell" / "packages.lock.json"
    lock = json.loads(lock_file.read_text())
    # A Debian package the lock names that this machine does not have.
    missing = "libghc-hvega-dev-not-installed"
    lock["packages"][0]["debian"] = missing
    lock_file.write_text(json.dumps(lock))
    before = sorted(p.name for p in quick_start.parent.rglob("*"))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)  # not root: apt is not ours to run
    code, out, err = cli(capsys, "switch", "--config", str(quick_start))
    assert (code, out) == (1, "")
    assert err == (
        f"error: the Debian packages of stable kernel ihaskell are not installed: {missing}; "
        "nothing was changed\n"
        f"hint: sudo apt-get install -y {missing}\n"
    )
    assert not service_environ.exists() or not (service_environ / "current").exists()
    assert sorted(p.name for p in quick_start.parent.rglob("*")) == before


def test_what_switch_and_lock_install_follows_the_config_not_an_older_lock(tmp_path: Path) -> None:
    lock = tmp_path / "ihaskell" / "packages.lock.json"
    lock.parent.mkdir()
    old = {**LOCK, "format": 1, "requested": ["split"]}
    old["packages"] = [{**LOCK["packages"][0], "debian": "libghc-split-dev"}]  # type: ignore[index]
    lock.write_text(json.dumps(old))
    backend = HaskellLanguage()
    # The config now asks for lens: its Debian package, not the old lock's.
    assert backend._wanted_debian(kernel("lens", "containers"), tmp_path) == {
        "ghc",
        "libghc-lens-dev",
    }
    # The lock is for what the config asks: every Debian package it names comes too.
    assert backend._wanted_debian(kernel("split"), tmp_path) == {"ghc", "libghc-split-dev"}
