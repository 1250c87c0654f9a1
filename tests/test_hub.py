"""`up` with `[hub]`: a real JupyterHub, configurable-http-proxy and the local spawner, with
two real system accounts made here (and removed after). One hub serves the module."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from .helpers import free_port
from .hub_helpers import (
    ALICE,
    BOB,
    USERS,
    Hub,
    cookie_path,
    deploy,
    hub_head,
    hub_login,
    hub_xsrf,
    login_response,
    run_in_user_kernel,
    start_hub,
    start_server,
    wait_server,
    world_readable_tmp,
)
from .stable_fixtures import render_config

pytestmark = pytest.mark.slow

WHO = "import getpass, os; print(getpass.getuser(), os.getcwd())"


@pytest.fixture(scope="module")
def hub(hub_accounts: None, locked: dict[str, Path]) -> Iterator[Hub]:
    root = world_readable_tmp("jupyter-service-hub-")
    try:
        port = free_port()
        # One warm kernel of `small` per user's server, `decimal` imported ahead.
        text = render_config(
            ["iniconfig"], head=hub_head(port), extra='preheat = 1\npreload = ["decimal"]\n'
        )
        config = deploy(root, text, locked["a"])
        running = start_hub(root, config, port)
        try:
            yield running
        finally:
            running.stop()
    finally:
        # Also when the hub failed to start: no stale world-readable dir left in /tmp.
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def sessions(hub: Hub) -> dict[str, requests.Session]:
    """alice and bob logged in, each with a running server."""
    result = {}
    for name in USERS:
        session = hub_login(hub, name)
        start_server(hub, session, name)
        result[name] = session
    return result


def test_each_user_runs_the_stable_kernel_as_themselves_in_their_notebook_dir(
    hub: Hub, sessions: dict[str, requests.Session]
) -> None:
    for name, session in sessions.items():
        specs = session.get(hub.url(f"user/{name}/api/kernelspecs"), timeout=30).json()
        assert "small" in specs["kernelspecs"], specs
        assert specs["default"] == "small"
        out = run_in_user_kernel(hub, session, name, WHO)
        assert out.split() == [name, f"/home/{name}/notebooks"]


def kernel_processes(name: str, program: Path) -> list[str]:
    """`name`'s processes running `program` (a stable kernel's)."""
    proc = subprocess.run(
        ["pgrep", "-u", name, "-f", str(program)],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.split()


def test_each_users_server_keeps_its_own_warm_kernels(
    hub: Hub, sessions: dict[str, requests.Session]
) -> None:
    """`preheat`/`preload` (the pools) work in hub users' servers: each server keeps its
    own warm kernel, as its user, and hands it out with that user's notebook dir."""
    program = kernel_program(Path(hub.env["JUPYTER_SERVICE_STATE_DIR"]), "small")
    for name in (ALICE, BOB):
        deadline = time.monotonic() + 60
        while len(kernel_processes(name, program)) != 1 and time.monotonic() < deadline:
            time.sleep(0.5)
        # No kernel asked for: the one running is the pool's, owned by the user.
        assert len(kernel_processes(name, program)) == 1, name
        code = "import getpass, os, sys; print('decimal' in sys.modules, getpass.getuser(), os.getcwd())"
        out = run_in_user_kernel(hub, sessions[name], name, code)
        # Taken from the pool (decimal already imported), handed over to this user's dir.
        assert out.split() == ["True", name, f"/home/{name}/notebooks"]


def test_notebook_dir_is_made_by_the_user(hub: Hub, sessions: dict[str, requests.Session]) -> None:
    for name in sessions:
        notebooks = Path(f"/home/{name}/notebooks")
        info = notebooks.stat()
        assert notebooks.is_dir()
        assert info.st_uid == __import__("pwd").getpwnam(name).pw_uid
        assert Path(f"/home/{name}").stat().st_mode & 0o777 == 0o700


def test_bob_gets_nothing_from_alices_server(
    hub: Hub, sessions: dict[str, requests.Session]
) -> None:
    bob = sessions[BOB]
    for path in ("api/contents", "api/kernels", "api/sessions", "lab"):
        response = bob.get(hub.url(f"user/{ALICE}/{path}"), timeout=30)
        assert response.status_code == 403, (path, response.status_code, response.text[-500:])
    response = bob.post(
        hub.url(f"user/{ALICE}/api/kernels"),
        json={"name": "small"},
        headers=hub_xsrf(bob, cookie_path(BOB)),
        timeout=30,
    )
    assert response.status_code == 403
    # Nor through the hub's API: bob is no admin.
    assert bob.get(hub.url(f"hub/api/users/{ALICE}"), timeout=30).status_code == 404
    response = bob.delete(
        hub.url(f"hub/api/users/{ALICE}/server"), headers=hub_xsrf(bob, cookie_path()), timeout=30
    )
    assert response.status_code in (403, 404)


def test_bob_cannot_read_alices_files_from_his_kernel(
    hub: Hub, sessions: dict[str, requests.Session]
) -> None:
    secret = Path(f"/home/{ALICE}/notebooks/secret.txt")
    out = run_in_user_kernel(
        hub, sessions[ALICE], ALICE, f"open({str(secret)!r}, 'w').write('s3cret'); print('ok')"
    )
    assert out.strip() == "ok"
    code = (
        "import os\n"
        f"for p in ('/home/{ALICE}', '/home/{ALICE}/notebooks', '/home/{ALICE}/notebooks/secret.txt'):\n"
        "    try:\n"
        "        print(os.listdir(p) if os.path.isdir(p) else open(p).read())\n"
        "    except OSError as e:\n"
        "        print(type(e).__name__)\n"
    )
    out = run_in_user_kernel(hub, sessions[BOB], BOB, code)
    assert out.split() == ["PermissionError"] * 3


def kernel_program(state: Path, kernel: str) -> Path:
    """What the current generation's kernel runs (its kernelspec's argv[0])."""
    spec = json.loads((state / "current" / "kernels" / kernel / "kernel.json").read_text())
    return Path(spec["argv"][0])


def store_path_of(state: Path, kernel: str) -> Path:
    """The store path the current generation's kernel runs from."""
    return next(p for p in kernel_program(state, kernel).parents if p.parent == state / "store")


# Tries each write as the user would: a new file in a dir, appending to a file.
TRY_WRITES = """\
import os
for p in {paths!r}:
    try:
        if os.path.isdir(p):
            open(os.path.join(p, "mine"), "x").close()
        else:
            open(p, "a").close()
        print("WROTE", p)
    except OSError as e:
        print(type(e).__name__)
"""


def test_users_cannot_write_the_store_generations_or_hub_state(
    hub: Hub, sessions: dict[str, requests.Session]
) -> None:
    state = Path(hub.env["JUPYTER_SERVICE_STATE_DIR"])
    store_path = store_path_of(state, "small")
    generation = (state / "current").resolve()
    targets = [
        state,
        state / "store",
        store_path,
        store_path / "bin",
        store_path / "bin" / "python",
        state / "generations",
        generation,
        generation / "kernels" / "small" / "kernel.json",
        state / "hub",
        state / "hub" / "jupyterhub.sqlite",
    ]
    # From bob's kernel, through the hub...
    out = run_in_user_kernel(
        hub, sessions[BOB], BOB, TRY_WRITES.format(paths=list(map(str, targets)))
    )
    assert "WROTE" not in out
    assert len(out.split()) == len(targets)
    # ... and as alice from a shell (runuser), the files the hub cannot even list for her.
    for target in targets:
        command = ["touch", str(target / "mine" if target.is_dir() else target)]
        proc = subprocess.run(
            ["runuser", "-u", ALICE, "--", *command], capture_output=True, text=True, check=False
        )
        assert proc.returncode != 0, target
        assert "Permission denied" in proc.stderr or "Read-only" in proc.stderr, proc.stderr
    assert not any((t / "mine").exists() for t in targets if t.is_dir())


def test_hub_state_is_the_hubs_alone(hub: Hub) -> None:
    hub_dir = Path(hub.env["JUPYTER_SERVICE_STATE_DIR"]) / "hub"
    assert stat.S_IMODE(hub_dir.stat().st_mode) == 0o700
    for name in ("jupyterhub.sqlite", "jupyterhub_cookie_secret"):
        assert stat.S_IMODE((hub_dir / name).stat().st_mode) == 0o600, name


def test_wrong_password_and_forged_remote_user_get_nothing(hub: Hub) -> None:
    _, status = login_response(hub, ALICE, USERS[BOB])
    assert status == 403
    _, status = login_response(hub, "carol", "anything")
    assert status == 403
    forged = {"Remote-User": ALICE, "X-Jupyter-Service-Proxy": "guess"}
    for path in ("hub/api/user", f"user/{ALICE}/api/contents"):
        response = requests.get(hub.url(path), headers=forged, timeout=30, allow_redirects=False)
        assert response.status_code in (302, 403), (path, response.status_code)
        if response.status_code == 302:
            assert "/hub/login" in response.headers["Location"]
    session = requests.Session()
    session.get(hub.url("hub/login"), timeout=10)
    response = session.post(
        hub.url("hub/login"),
        data={"username": ALICE, **{"_xsrf": hub_xsrf(session, cookie_path())["X-XSRFToken"]}},
        headers=forged,
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 403


def test_admin_lists_servers_through_the_hub(
    hub: Hub, sessions: dict[str, requests.Session]
) -> None:
    users = sessions[ALICE].get(hub.url("hub/api/users"), timeout=30)
    assert users.status_code == 200
    assert {u["name"] for u in users.json()} == set(USERS)
    assert sessions[BOB].get(hub.url("hub/api/users"), timeout=30).status_code == 403


def users_processes(name: str) -> list[str]:
    proc = subprocess.run(
        ["pgrep", "-u", name, "-f", "jupyter_service.hub.singleuser"],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.split()


def test_admin_stops_another_users_server_and_a_non_admin_cannot(
    hub: Hub, sessions: dict[str, requests.Session]
) -> None:
    alice, bob = sessions[ALICE], sessions[BOB]
    # bob is no admin: alice's server stays up.
    response = bob.delete(
        hub.url(f"hub/api/users/{ALICE}/server"), headers=hub_xsrf(bob, cookie_path()), timeout=30
    )
    assert response.status_code in (403, 404)
    assert users_processes(ALICE)
    assert run_in_user_kernel(hub, alice, ALICE, "print(1 + 1)").strip() == "2"
    # alice is: bob's server stops, its process as bob is gone.
    assert users_processes(BOB)
    response = alice.delete(
        hub.url(f"hub/api/users/{BOB}/server"), headers=hub_xsrf(alice, cookie_path()), timeout=60
    )
    assert response.status_code in (202, 204), response.text
    wait_server(hub, alice, BOB, ready=False)
    deadline = time.monotonic() + 30
    while users_processes(BOB) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert users_processes(BOB) == []
    assert bob.get(hub.url(f"user/{BOB}/api/status"), timeout=30).status_code != 200
    # bob starts it again himself (the tests after this one use it).
    start_server(hub, bob, BOB)


def test_venv_kernel_made_by_alice_is_not_bobs(
    hub: Hub, sessions: dict[str, requests.Session]
) -> None:
    """alice runs `jupyter-venv-kernel create` (on her PATH) from her server: the kernel is in
    her home, her server offers it, bob's does not and bob cannot read it."""
    code = (
        "import subprocess\n"
        "p = subprocess.run(['jupyter-venv-kernel', 'create', 'mine'], capture_output=True,"
        " text=True)\n"
        "print(p.returncode, p.stdout[-300:], p.stderr[-600:])\n"
    )
    out = run_in_user_kernel(hub, sessions[ALICE], ALICE, code)
    assert out.startswith("0 "), out
    venv = Path(f"/home/{ALICE}/.local/share/jupyter/venvs/mine")
    assert venv.is_dir() and venv.stat().st_uid == __import__("pwd").getpwnam(ALICE).pw_uid
    alice = sessions[ALICE].get(hub.url(f"user/{ALICE}/api/kernelspecs"), timeout=30).json()
    bob = sessions[BOB].get(hub.url(f"user/{BOB}/api/kernelspecs"), timeout=30).json()
    assert "mine" in alice["kernelspecs"]
    assert "mine" not in bob["kernelspecs"]
    assert run_in_user_kernel(hub, sessions[ALICE], ALICE, "print(1+1)", "mine").strip() == "2"
    out = run_in_user_kernel(
        hub,
        sessions[BOB],
        BOB,
        f"import os\ntry:\n    os.listdir({str(venv)!r})\nexcept OSError as e:\n"
        "    print(type(e).__name__)\n",
    )
    assert out.strip() == "PermissionError"


def test_browser_logs_in_and_runs_a_cell(hub: Hub, sessions: dict[str, requests.Session]) -> None:
    """Headless Chromium: bob's login form, his JupyterLab, a notebook on the stable kernel."""
    from playwright.sync_api import expect, sync_playwright

    from .browser.test_example_session import CHROMIUM, CHROMIUM_ARGS, open_kernel_picker

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.set_default_timeout(120_000)
            page.goto(hub.url("hub/login"))
            page.fill("input[name=username]", BOB)
            page.fill("input[name=password]", USERS[BOB])
            page.click("#login_submit")
            expect(page.locator(".jp-Launcher")).to_be_visible(timeout=120_000)
            assert f"/user/{BOB}/lab" in page.url
            dialog = open_kernel_picker(page)
            dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
            notebook = page.locator(".jp-NotebookPanel:visible")
            expect(page.locator("#jp-main-statusbar")).to_contain_text("| Idle", timeout=120_000)
            cell = notebook.locator(".jp-CodeCell").first
            cell.locator(".cm-content").click()
            page.keyboard.insert_text("import getpass, os; print(getpass.getuser(), os.getcwd())")
            page.keyboard.press("Shift+Enter")
            expect(cell.locator(".jp-OutputArea")).to_contain_text(
                f"{BOB} /home/{BOB}/notebooks", timeout=120_000
            )
        finally:
            browser.close()


def test_switch_reaches_running_user_servers(
    hub: Hub, sessions: dict[str, requests.Session], locked: dict[str, Path]
) -> None:
    """An admin's `switch` to a lock with one more package: alice's running server starts
    her next kernel from the new generation, without a restart."""
    before = run_in_user_kernel(hub, sessions[ALICE], ALICE, "import sys; print(sys.prefix)")
    config = hub.root / "admin" / "config.toml"
    config.write_text(
        config.read_text().replace('packages = ["iniconfig"]', 'packages = ["iniconfig", "six"]')
    )
    shutil.rmtree(config.parent / "config.lock")
    shutil.copytree(locked["b"] / "config.lock", config.parent / "config.lock")
    proc = subprocess.run(
        [sys.executable, "-m", "jupyter_service", "switch", "--config", str(config)],
        env=hub.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    after = run_in_user_kernel(hub, sessions[ALICE], ALICE, "import six, sys; print(sys.prefix)")
    assert after.strip() != before.strip()
    assert "Error" not in after
    # And `rollback` reaches them the same way: bob's next kernel is the old generation's.
    proc = subprocess.run(
        [sys.executable, "-m", "jupyter_service", "rollback"],
        env=hub.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    back = run_in_user_kernel(
        hub,
        sessions[BOB],
        BOB,
        "import sys, importlib.util\nprint(sys.prefix, importlib.util.find_spec('six') is None)",
    )
    assert back.split() == [before.strip(), "True"]
