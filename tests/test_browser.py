"""Drive a real JupyterLab in headless Chromium: Run All Cells on a few notebooks, as a student would.

Needs Debian's chromium at /usr/bin/chromium (``.ci/run`` installs it); Playwright's own browser
download is never used. Screenshots land in build/screenshots/.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import papermill
import pytest

from helper import homework
from helper.runner import NOTEBOOK_DIR, REPO_ROOT, lecture_notebooks, select

# Which notebooks to open, by number or name prefix; the first one that exists in each group is used.
BROWSER_NOTEBOOKS = {
    "training": ["04", "03", "10"],        # a basics notebook that trains with helper.train.fit
    "architecture": ["11", "09", "12"],    # a notebook that builds an architecture
    "homework": ["01", "02"],              # opened as the student copy that helper.homework makes
}
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = REPO_ROOT / "build" / "screenshots"
RUN_TIMEOUT_S = 240

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (.ci/run installs it)."),
]


def pick(candidates: list[str]) -> Path | None:
    """The first existing course notebook among ``candidates`` (numbers or prefixes)."""
    available = lecture_notebooks(NOTEBOOK_DIR)
    for wanted in candidates:
        matches = [p for p in available if p.stem.startswith(wanted)]
        if matches and select([wanted], available):
            return matches[0]
    return None


def chosen() -> list[pytest.param]:
    params = []
    for role, candidates in BROWSER_NOTEBOOKS.items():
        path = pick(candidates)
        reason = f"none of notebooks {candidates} exists yet"
        params.append(pytest.param(role, path, id=role,
                                   marks=pytest.mark.skipif(path is None, reason=reason)))
    return params


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_settings(folder: Path) -> None:
    """User settings for the test's JupyterLab: every cell in the DOM, no news pop-up."""
    settings = {
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                            "checkForUpdates": False},
    }
    for name, values in settings.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a free local port over a smoke-mode copy of the chosen notebooks."""
    base = tmp_path_factory.mktemp("lab")
    root = base / "notebooks"
    root.mkdir()
    for role, path in ((p.values[0], p.values[1]) for p in chosen()):
        if path is None:
            continue
        if role == "homework":
            [path] = homework.make([path], base / "homework")
        papermill.execute_notebook(str(path), str(root / path.name), parameters={"MODE": "smoke"},
                                   prepare_only=True, kernel_name="python3", progress_bar=False)
    write_settings(base / "settings")
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(base / "config"), "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(base / "settings"), "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces")}
    log = (base / "server.log").open("w")
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("jupyter")), "lab", "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"jupyter lab did not start; see {base / 'server.log'}") from None
                time.sleep(0.5)
        yield {"url": url, "token": token, "root": root}
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Chromium with an empty profile; closed even when a test fails."""
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
            viewport={"width": 1400, "height": 1000})
        try:
            yield context
        finally:
            context.close()


# Reads the open notebook from JupyterLab's DOM: each code cell's prompt and its error outputs.
READ_CELLS = """() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell')].map(c => ({
    prompt: (c.querySelector('.jp-InputPrompt')?.textContent || '').trim(),
    source: (c.querySelector('.jp-InputArea-editor')?.textContent || '').slice(0, 80),
    errors: [...c.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
        .map(o => o.textContent).filter(t => /Traceback|Error\\b.*:|Error$/m.test(t)).map(t => t.slice(0, 300)),
}))"""


def run_all(page, url: str, token: str, name: str) -> list[dict]:
    """Open ``name``, run every cell from the Run menu, wait for the kernel to finish; return the cells."""
    page.goto(f"{url}/lab/tree/{name}?token={token}")
    page.locator(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=90_000)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    page.wait_for_function(
        """() => {
            const prompts = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')];
            const idle = document.querySelector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator[data-status='idle']");
            return idle && prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
        }""",
        timeout=RUN_TIMEOUT_S * 1000, polling=1000)
    return page.evaluate(READ_CELLS)


@pytest.mark.parametrize(("role", "path"), chosen())
def test_run_all_cells_in_jupyterlab(lab, browser, role, path):
    page = browser.new_page()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        cells = run_all(page, lab["url"], lab["token"], path.name)
        page.locator(".jp-OutputArea .widget-progress, .jp-OutputArea .widget-hprogress").first.wait_for(
            state="attached", timeout=10_000)
    finally:
        page.screenshot(path=str(SCREENSHOTS / f"{role}-{path.stem}.png"), full_page=True)
        page.close()
    unrun = [c["source"] for c in cells if not any(ch.isdigit() for ch in c["prompt"])]
    assert not unrun, f"{path.name}: cells without an execution count: {unrun}"
    errors = [(c["source"], e) for c in cells for e in c["errors"]]
    if role == "homework":
        errors = [(s, e) for s, e in errors if "NotImplementedError" not in e]
    assert not errors, f"{path.name}: cells show errors: {errors}"


def teardown_module() -> None:
    shutil.rmtree(REPO_ROOT / "build" / "screenshots" / ".tmp", ignore_errors=True)
