"""The original's Example Session, end to end in headless Chromium (Debian's, via Playwright).

Log in with the password, type `jupyter-venv-kernel create llm-test` in a JupyterLab
terminal, refresh, pick "Python (llm-test)", `!pip install` a wheel of the test's own and
import it, shut the kernel down, delete it from the terminal, refresh, see it gone. The
service also has a stable kernel, so both tiers show side by side, as README's "Tiers in
JupyterLab" says; and the Quick Start's stable Haskell kernel, where a notebook runs a
Haskell cell. Screenshots of each step go to test-artifacts/browser/.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect, sync_playwright

from ..helpers import PASSWORD, Service, free_port
from ..stable_fixtures import PYTHON
from ..test_server import write_config
from ..wheels import make_wheel

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
# The flags this machine's closed network needs (no background calls to Google's hosts).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
KERNEL = "llm-test"
DISPLAY_NAME = f"Python ({KERNEL})"
STOCK_DISPLAY_NAME = "Python 3 (ipykernel)"
STABLE = "team"
STABLE_DISPLAY_NAME = f"Python ({STABLE})"
PACKAGE = "tinyhello"
GREETING = "hello from a local wheel"
NOTEBOOK = "llm-experiment.ipynb"
# The Quick Start's stable Haskell kernel, its table unchanged.
HASKELL_TABLE = (
    '[extraKernels.ihaskell]\nenable = true\nextraPackages = ["lens", "aeson", "vector"]\n'
)
HASKELL_DISPLAY_NAME = "Haskell (GHC 9.0.2)"
HASKELL_CELL = (
    "import Control.Lens\n"
    "import qualified Data.Vector as V\n"
    "print (V.sum (V.fromList [1 .. 10 :: Int]), (1 :: Int, 'x') ^. _2)"
)
# A cold uv cache downloads ipykernel and friends; a cold pip starts slowly.
SLOW_MS = 150_000


def write_terminal_settings(root: Path) -> None:
    """The user's JupyterLab setting that puts the terminal's text in the DOM (xterm's screen
    reader mode), where the test can read it; the default renderer only paints a canvas."""
    user_settings = root / "jupyter-config" / "lab" / "user-settings" / "@jupyterlab"
    path = user_settings / "terminal-extension" / "plugin.jupyterlab-settings"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"screenReaderMode": True}))


class Screenshots:
    """Numbered screenshots of the steps, and one of the page as it was when a step failed."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def __enter__(self) -> Screenshots:
        shutil.rmtree(ARTIFACTS, ignore_errors=True)
        ARTIFACTS.mkdir(parents=True)
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None:
            self.take("failure")

    def take(self, name: str) -> None:
        self.page.screenshot(path=ARTIFACTS / f"{name}.png")


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    root = tmp_path / "service"
    root.mkdir()
    write_terminal_settings(root)
    port = free_port()
    config = write_config(root, port)
    # A small stable kernel (ipykernel only): `up` locks and builds it on first start.
    with config.open("a") as f:
        f.write(f'\n[extraKernels.{STABLE}]\nlanguage = "python"\npythonPackage = "{PYTHON}"\n')
        f.write(HASKELL_TABLE)
    svc = Service(root, config, port)
    svc.wait_ready(timeout=300)
    yield svc
    assert svc.stop() == 0, svc.output()


@pytest.fixture
def page(service: Service) -> Iterator[Page]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install chromium` (scripts/test.sh does)")
    with sync_playwright() as playwright:
        # Playwright gives each launch a fresh, empty --user-data-dir.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(60_000)
        expect.set_options(timeout=60_000)
        try:
            yield page
        finally:
            browser.close()


# -- steps, each as a user does it ------------------------------------------------------------


def type_in_terminal(page: Page, command: str) -> Locator:
    page.locator(".lm-TabBar-tab", has_text="Terminal 1").click()
    terminal = page.locator(".jp-Terminal")
    # The shell has printed its prompt: the terminal is connected and reads what we type.
    expect(terminal.locator(".xterm-accessibility-tree [role=listitem]").first).not_to_have_text(
        re.compile(r"^\s*$")
    )
    terminal.locator(".xterm-screen").click()
    page.keyboard.type(command + "\n")
    return terminal


def open_kernel_picker(page: Page) -> Locator:
    """File > New > Notebook: JupyterLab asks which kernel to start."""
    page.locator(".lm-MenuBar-item", has_text="File").click()
    page.locator(".lm-Menu-item", has_text=re.compile(r"^New$")).hover()
    page.locator(".lm-Menu-item", has_text=re.compile(r"^Notebook$")).click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog.locator(".jp-Dialog-header")).to_have_text("Select Kernel")
    return dialog


def show_options(dialog: Locator) -> None:
    """Unfold the picker's drop-down into a list, so that a screenshot shows every choice
    (headless Chromium draws no native pop-up)."""
    dialog.locator("select").evaluate(
        """select => {
            select.size = select.querySelectorAll("option, optgroup").length;
            select.style.height = select.parentElement.style.height = "auto";
        }"""
    )


def option_labels(dialog: Locator) -> list[str]:
    return [label.strip() for label in dialog.locator("select option").all_inner_texts()]


def kernelspecs(page: Page, service: Service) -> dict[str, Any]:
    """What JupyterLab itself reads: /api/kernelspecs, with the browser's login cookie."""
    response = page.request.get(service.url("api/kernelspecs"))
    assert response.status == 200, response.text()
    return dict(response.json()["kernelspecs"])


def save_shut_down_and_close(page: Page, notebook: Locator) -> None:
    """Save (JupyterLab asks for a name the first time), shut the kernel down, close."""
    page.keyboard.press("Control+s")
    rename = page.locator(".jp-Dialog")
    rename.locator("input[type=text], input:not([type])").first.fill(NOTEBOOK)
    rename.locator(".jp-Dialog-button.jp-mod-accept").click()
    tab = page.locator(".lm-TabBar-tab", has_text=NOTEBOOK)
    expect(tab).to_be_visible()
    page.locator(".lm-MenuBar-item", has_text="Kernel").click()
    page.locator(".lm-Menu-item", has_text=re.compile(r"^Shut Down Kernel$")).click()
    expect(notebook.locator(".jp-Toolbar-kernelName")).to_have_text("No Kernel")
    tab.locator(".lm-TabBar-tabCloseIcon").click()
    expect(tab).to_have_count(0)


def check_tier_metadata(page: Page, service: Service) -> None:
    """The tiers as JupyterLab reads them: display names and the kernelspecs' metadata."""
    specs = kernelspecs(page, service)
    experimental, stable = specs[KERNEL]["spec"], specs[STABLE]["spec"]
    assert experimental["display_name"] == DISPLAY_NAME
    assert experimental["metadata"]["jupyter_service"]["tier"] == "experimental"
    assert stable["display_name"] == STABLE_DISPLAY_NAME
    lock = service.root / "config.lock" / STABLE / "uv.lock"
    assert stable["metadata"]["jupyter_service"] == {
        "tier": "stable",
        "generation": 1,
        "lock": hashlib.sha256(lock.read_bytes()).hexdigest(),
    }


def check_tier_cards(launcher: Locator) -> None:
    """The tiers at a glance: a stable kernel's card shows the Python logo, a venv kernel's
    (no logo in its kernelspec) JupyterLab's lettered tile."""
    cards = launcher.locator(".jp-LauncherCard[data-category=Notebook]")
    stable_card = cards.filter(has_text=STABLE_DISPLAY_NAME)
    expect(stable_card.locator("img")).to_have_attribute(
        "src", re.compile(rf"kernelspecs/{STABLE}/logo-")
    )
    venv_card = cards.filter(has_text=DISPLAY_NAME)
    expect(venv_card.locator(".jp-LauncherCard-noKernelIcon")).to_have_text("P")
    expect(venv_card.locator("img")).to_have_count(0)


def test_example_session(service: Service, page: Page, tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    make_wheel(wheels, PACKAGE, "0.1", GREETING)
    data_dir = Path(service.env["JUPYTER_DATA_DIR"])
    venv = data_dir / "venvs" / KERNEL

    with Screenshots(page) as shots:
        # Log in through the login page.
        page.goto(service.url("lab"))
        expect(page.locator("input[name=password]")).to_be_visible()
        shots.take("01-login")
        page.fill("input[name=password]", PASSWORD)
        page.click("#login_submit")
        launcher = page.locator(".jp-Launcher")
        expect(
            launcher.locator(".jp-LauncherCard", has_text=STABLE_DISPLAY_NAME).first
        ).to_be_visible()
        shots.take("02-lab")

        # In a Jupyter terminal: jupyter-venv-kernel create llm-test
        page.locator(".jp-LauncherCard", has_text="Terminal").click()
        terminal = type_in_terminal(page, f"jupyter-venv-kernel create {KERNEL}")
        expect(terminal).to_contain_text(
            f"Kernel '{KERNEL}' created successfully!", timeout=SLOW_MS
        )
        shots.take("03-terminal-create")
        check_tier_metadata(page, service)

        # Refresh the browser: the new kernel is in the launcher and in the picker.
        page.reload()
        page.locator(".lm-TabBar-addButton:visible").click()
        launcher = page.locator(".jp-Launcher:visible")
        for name in (STABLE_DISPLAY_NAME, DISPLAY_NAME):
            expect(launcher.locator(".jp-LauncherCard", has_text=name).first).to_be_visible()
        check_tier_cards(launcher)
        shots.take("04-launcher-after-refresh")
        dialog = open_kernel_picker(page)
        dialog.locator("select").select_option(label=DISPLAY_NAME)
        assert {STABLE_DISPLAY_NAME, DISPLAY_NAME} <= set(option_labels(dialog))
        show_options(dialog)
        shots.take("05-kernel-picker")
        dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
        notebook = page.locator(".jp-NotebookPanel:visible")
        expect(notebook.locator(".jp-Toolbar-kernelName")).to_have_text(DISPLAY_NAME)
        # A cell run before the kernel is up is dropped: wait until it is idle.
        expect(page.locator("#jp-main-statusbar")).to_contain_text(f"{DISPLAY_NAME} | Idle")

        # In the notebook: !pip install from the test's own wheel, then import it.
        cell = notebook.locator(".jp-CodeCell").first
        cell.locator(".cm-content").click()
        page.keyboard.insert_text(
            f"!pip install --no-index --find-links {wheels} {PACKAGE}\n"
            f"import sys, {PACKAGE}\n"
            f"print({PACKAGE}.VALUE, 'in', sys.prefix)"
        )
        page.keyboard.press("Shift+Enter")
        output = cell.locator(".jp-OutputArea")
        expect(output).to_contain_text(f"{GREETING} in {venv}", timeout=SLOW_MS)
        expect(output).to_contain_text(f"Successfully installed {PACKAGE}-0.1")
        shots.take("06-notebook-pip-install")
        # It went into the kernel's venv, and not into the service's own environment.
        assert list(venv.glob(f"lib/python3*/site-packages/{PACKAGE}.py"))
        assert importlib.util.find_spec(PACKAGE) is None

        save_shut_down_and_close(page, notebook)
        saved = json.loads((service.root / "notebooks" / NOTEBOOK).read_text())
        assert saved["metadata"]["kernelspec"]["name"] == KERNEL

        # Later, in the terminal: jupyter-venv-kernel delete llm-test
        terminal = type_in_terminal(page, f"jupyter-venv-kernel delete {KERNEL} --yes")
        expect(terminal).to_contain_text(f"Kernel '{KERNEL}' deleted", timeout=SLOW_MS)
        shots.take("07-terminal-delete")
        assert not venv.exists()
        assert not (data_dir / "kernels" / KERNEL).exists()
        assert KERNEL not in kernelspecs(page, service)

        # Refresh: the kernel is gone from the launcher and from the picker.
        page.reload()
        page.locator(".lm-TabBar-addButton:visible").click()
        launcher = page.locator(".jp-Launcher:visible")
        expect(
            launcher.locator(".jp-LauncherCard", has_text=STABLE_DISPLAY_NAME).first
        ).to_be_visible()
        # The service's own environment is no kernel when a stable one exists.
        expect(launcher.locator(".jp-LauncherCard", has_text=STOCK_DISPLAY_NAME)).to_have_count(0)
        expect(launcher.locator(".jp-LauncherCard", has_text=DISPLAY_NAME)).to_have_count(0)
        shots.take("08-launcher-after-delete")
        dialog = open_kernel_picker(page)
        expect(dialog.locator("option", has_text=STABLE_DISPLAY_NAME).first).to_be_attached()
        labels = option_labels(dialog)
        assert DISPLAY_NAME not in labels
        assert STOCK_DISPLAY_NAME not in labels
        show_options(dialog)
        shots.take("09-kernel-picker-after-delete")
        dialog.locator(".jp-Dialog-button.jp-mod-reject").click()

        # The stable Haskell kernel beside them: a notebook on it runs a Haskell cell.
        dialog = open_kernel_picker(page)
        dialog.locator("select").select_option(label=HASKELL_DISPLAY_NAME)
        dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
        notebook = page.locator(".jp-NotebookPanel:visible")
        expect(notebook.locator(".jp-Toolbar-kernelName")).to_have_text(HASKELL_DISPLAY_NAME)
        expect(page.locator("#jp-main-statusbar")).to_contain_text(f"{HASKELL_DISPLAY_NAME} | Idle")
        cell = notebook.locator(".jp-CodeCell").first
        cell.locator(".cm-content").click()
        page.keyboard.insert_text(HASKELL_CELL)
        page.keyboard.press("Shift+Enter")
        expect(cell.locator(".jp-OutputArea")).to_contain_text("(55,'x')")
        shots.take("10-haskell-notebook")
