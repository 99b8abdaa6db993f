"""Drive a real JupyterLab in headless Chromium: Run All Cells on a few notebooks, as a student would, do
one exercise of a homework copy wrong, then right, and move the controls of every explorer.

Needs Debian's chromium at /usr/bin/chromium (``.ci/run`` installs it); Playwright's own browser
download is never used. Screenshots land in build/screenshots/.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import nbformat
import papermill
import pytest
from conftest import solution_cells
from explorer_scenarios import EXPLORER_SCENARIOS

from helper.errors import CourseError
from helper.tools import homework
from helper.tools.lab import command as lab_command
from helper.tools.notebooks import NOTEBOOK_DIR, REPO_ROOT, diagram_of, explorer_of, lecture_notebooks, select

# Which notebooks to open, by number or name prefix; the first one that exists in each group is used.
BROWSER_NOTEBOOKS = {
    "training": ["03", "10"],            # a basics notebook that trains with helper.train.fit
    "architecture": ["11", "09", "12"],  # a notebook that builds one of the architectures
    "homework": ["01", "02"],            # opened as the student copy that helper.homework makes
}
# The round trip on the homework copy: an exercise's solution cell, a wrong and a right answer for it, and
# what its check prints for each (01's Exercise 2; the test skips when the copy is of another notebook).
ROUND_TRIP = {"notebook": "01_", "grade_id": "ex2-solution", "wrong": "dilation_needed = 6",
              "right": "dilation_needed = 12", "fails": "a larger dilation makes the output smaller",
              "passes": "dilation_needed is correct"}
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = REPO_ROOT / "build" / "screenshots"
RUN_TIMEOUT_S = 120
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
IDLE = f"{PANEL} .jp-Notebook-ExecutionIndicator[data-status='idle']"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is missing (.ci/run installs it)."),
]


def pick(candidates: list[str]) -> Path | None:
    """The first existing course notebook among ``candidates`` (numbers or prefixes)."""
    available = lecture_notebooks(NOTEBOOK_DIR)
    for wanted in candidates:
        try:
            return select([wanted], available)[0]
        except CourseError:
            continue
    return None


CHOSEN = {role: pick(candidates) for role, candidates in BROWSER_NOTEBOOKS.items()}
# Every notebook with an explorer cell; the lab has a copy of each in its folder explorers/.
EXPLORER_NOTEBOOKS = [path for path in lecture_notebooks(NOTEBOOK_DIR)
                      if any(explorer_of(c) for c in nbformat.read(path, as_version=4).cells)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_settings(folder: Path) -> None:
    """User settings for the test's JupyterLab: every cell in the DOM, no kernel or news pop-ups."""
    settings = {
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none",
                                                                      "autoStartDefaultKernel": True},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                            "checkForUpdates": False},
    }
    for name, values in settings.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))


def smoke_copy(path: Path, folder: Path) -> None:
    """Copy a notebook into ``folder`` with ``MODE = "smoke"`` injected."""
    folder.mkdir(exist_ok=True)
    papermill.execute_notebook(str(path), str(folder / path.name), parameters={"MODE": "smoke"},
                               prepare_only=True, kernel_name="python3", progress_bar=False)


def prepare(root: Path, scratch: Path) -> None:
    """Copy the chosen notebooks into ``root`` in smoke mode (homework: student copy), and the notebooks
    with explorers into ``root/explorers``."""
    for role, path in CHOSEN.items():
        if path is None:
            continue
        if role == "homework":
            [path] = homework.make([path], scratch)
        smoke_copy(path, root)
    for path in EXPLORER_NOTEBOOKS:
        smoke_copy(path, root / "explorers")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a free local port over a smoke-mode copy of the chosen notebooks."""
    base = tmp_path_factory.mktemp("lab")
    root = base / "notebooks"
    root.mkdir()
    prepare(root, base / "homework")
    write_settings(base / "settings")
    port, token = free_port(), secrets.token_hex(16)
    # the command and environment of `make lab` (the student's lab), over this folder
    command, env = lab_command(["--dir", str(root), "--no-browser", "--ip=127.0.0.1", f"--port={port}",
                                f"--IdentityProvider.token={token}",
                                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"])
    env.update({"JUPYTER_CONFIG_DIR": str(base / "config"),
                "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
                "JUPYTERLAB_SETTINGS_DIR": str(base / "settings"),
                "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces")})
    if os.geteuid() == 0:  # CI containers run as root
        command.append("--allow-root")
    url = f"http://127.0.0.1:{port}"
    with (base / "server.log").open("w") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
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
                server.wait()


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


# Each code cell of the open notebook as JupyterLab shows it: its prompt and the text of error outputs.
READ_CELLS = """() => [...document.querySelectorAll('PANEL .jp-CodeCell')].map((cell, index) => ({
    index,
    collapsed: cell.querySelector('.jp-InputArea') === null,
    prompt: (cell.querySelector('.jp-InputArea-prompt')?.textContent || '').trim(),
    source: (cell.querySelector('.jp-InputArea-editor')?.textContent || '').slice(0, 80),
    errors: [...cell.querySelectorAll('.jp-OutputArea-output[data-mime-type="STDERR"]')]
        .map(o => o.textContent).filter(t => /Traceback|Error\\b/.test(t)).map(t => t.slice(0, 300)),
}))""".replace("PANEL", PANEL).replace("STDERR", "application/vnd.jupyter.stderr")

# True once the kernel is idle and every code cell shows an execution count like [12] in its input area's
# prompt (a collapsed cell, the set-up cell, shows a placeholder without a count instead).
ALL_RUN = """() => {
    const prompts = [...document.querySelectorAll('PANEL .jp-CodeCell .jp-InputArea-prompt')];
    return document.querySelector("IDLE") !== null && prompts.length > 0
        && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
}""".replace("PANEL", PANEL).replace("IDLE", IDLE)


# True once every wanted code cell (by position among the code cells) shows an image that has loaded.
SHOWN = """(wanted) => {
    const cells = [...document.querySelectorAll('PANEL .jp-CodeCell')];
    return wanted.every(i => [...(cells[i]?.querySelectorAll('.jp-OutputArea-output img') ?? [])]
        .some(image => image.complete && image.naturalWidth > 0));
}""".replace("PANEL", PANEL)


def open_notebook(page, url: str, token: str, name: str) -> None:
    """Open ``name`` and wait until its kernel is idle."""
    page.goto(f"{url}/lab/tree/{name}?reset&token={token}")  # reset: no tabs restored from the last page
    page.locator(IDLE).wait_for(timeout=90_000)
    page.locator(".jp-StatusBar-TextItem", has_text="| Idle").first.wait_for(timeout=90_000)


def shows_images(page, positions: list[int]) -> bool:
    """Whether the code cells at ``positions`` (among the code cells) show a loaded image within 15 s."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(SHOWN, arg=positions, timeout=15_000, polling=500)
    except PlaywrightTimeout:
        return False
    return True


def run_all(page) -> list[dict]:
    """Run every cell of the open notebook from the Run menu, wait for the kernel to finish; the cells."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    page.wait_for_function(ALL_RUN, timeout=RUN_TIMEOUT_S * 1000, polling=1000)
    return page.evaluate(READ_CELLS)


# True once the open notebook has no unsaved changes (JupyterLab marks a dirty tab).
SAVED = "() => document.querySelector('.lm-TabBar-tab.jp-mod-current.jp-mod-dirty') === null"


def shows_bar(page) -> None:
    """Wait until the open notebook shows a finished progress bar's text line."""
    bar = page.locator(f"{PANEL} .jp-OutputArea-output", has_text="epochs: 100%").first
    bar.wait_for(state="attached", timeout=10_000)
    bar.scroll_into_view_if_needed()
    bar.wait_for(state="visible", timeout=10_000)


def shut_down_kernels(url: str, token: str) -> None:
    """Stop every kernel of the test server, so that the next notebook has the CPU to itself."""
    headers = {"Authorization": f"token {token}"}
    with urllib.request.urlopen(urllib.request.Request(f"{url}/api/kernels", headers=headers)) as reply:
        kernels = json.load(reply)
    for kernel in kernels:
        stop = urllib.request.Request(f"{url}/api/kernels/{kernel['id']}", headers=headers, method="DELETE")
        urllib.request.urlopen(stop).close()


def shows_progress(path: Path) -> bool:
    """Whether a notebook calls helper.train.fit with its tqdm progress bar on."""
    return any("fit(" in c.source and "progress=False" not in c.source
               for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")


def diagram_cells(path: Path) -> list[int]:
    """The positions among the code cells of the cells that show a diagram."""
    code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    return [i for i, c in enumerate(code) if diagram_of(c)]


def exercise_cells(path: Path) -> dict[int, str]:
    """``{position among code cells: exercise}`` for the nbgrader cells of a notebook."""
    code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    return {i: homework.exercise_of(homework.nbgrader_meta(c)["grade_id"])
            for i, c in enumerate(code) if homework.nbgrader_meta(c)}


def stubbed_exercises(path: Path) -> set[str]:
    """The exercises whose solution cell holds nbgrader's NotImplementedError stub."""
    return {homework.exercise_of(homework.nbgrader_meta(c)["grade_id"])
            for c in solution_cells(nbformat.read(path, as_version=4))
            if "raise NotImplementedError()" in c.source}


def unattempted(cells: list[dict], exercises: dict[int, str]) -> set[str]:
    """The exercises one of whose cells shows the stub's NotImplementedError."""
    return {exercises[c["index"]] for c in cells
            if c["index"] in exercises and any("NotImplementedError" in e for e in c["errors"])}


@pytest.mark.parametrize("role", [
    pytest.param(role, marks=pytest.mark.skipif(path is None, reason=f"none of {candidates} exists"))
    for (role, path), candidates in zip(CHOSEN.items(), BROWSER_NOTEBOOKS.values(), strict=True)
])
def test_run_all_cells_in_jupyterlab(lab, browser, role):
    name = CHOSEN[role].name
    page = browser.new_page()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    diagrams = diagram_cells(lab["root"] / name)
    try:
        open_notebook(page, lab["url"], lab["token"], name)
        shown_before_running = shows_images(page, diagrams)
        cells = run_all(page)
        shown_after_running = shows_images(page, diagrams)
        progress = shows_progress(lab["root"] / name)
        if progress:  # a finished bar leaves its last line as text
            shows_bar(page)
        if role == "training":  # saved and opened again, as a student finds it the next day
            page.keyboard.press("Control+s")
            page.wait_for_function(SAVED, timeout=30_000, polling=500)
            shut_down_kernels(lab["url"], lab["token"])
            open_notebook(page, lab["url"], lab["token"], name)
            reopened = page.locator(PANEL).inner_text()
            if progress:
                shows_bar(page)
    finally:
        page.screenshot(path=str(SCREENSHOTS / f"{role}-{Path(name).stem}.png"))
        page.close()
        shut_down_kernels(lab["url"], lab["token"])
    if role == "training":
        assert "model not found" not in reopened and "Error displaying widget" not in reopened, \
            f"{name}: reopened after saving, it should show no widget errors"
    assert shown_before_running, f"{name}: the diagrams (code cells {diagrams}) should show before running"
    assert shown_after_running, f"{name}: the diagrams (code cells {diagrams}) should show after Run All"
    collapsed = [c["index"] for c in cells if c["collapsed"]]
    assert collapsed == [0], f"{name}: only the set-up cell should be collapsed, not code cells {collapsed}"
    unrun = [c["source"] for c in cells if not c["collapsed"] and not any(ch.isdigit() for ch in c["prompt"])]
    assert not unrun, f"{name}: cells without an execution count: {unrun}"
    # In the student copy, an exercise whose stub raised NotImplementedError may fail its check too.
    exercises = exercise_cells(lab["root"] / name) if role == "homework" else {}
    skipped = unattempted(cells, exercises)
    errors = [(c["source"], e) for c in cells for e in c["errors"]
              if exercises.get(c["index"]) not in skipped]
    assert not errors, f"{name}: cells show errors: {errors}"
    stubbed = stubbed_exercises(lab["root"] / name) if role == "homework" else set()
    assert skipped == stubbed, f"{name}: stubbed exercises {sorted(stubbed)} should raise NotImplementedError"


# The text of the outputs of the code cell at a position (among the code cells) once it contains ``text``.
OUTPUT_SAYS = """([position, text]) => {
    const cell = [...document.querySelectorAll('PANEL .jp-CodeCell')][position];
    const shown = cell?.querySelector('.jp-OutputArea')?.textContent ?? '';
    return shown.includes(text) && document.querySelector("IDLE") !== null ? shown : null;
}""".replace("PANEL", PANEL).replace("IDLE", IDLE)


def answer(page, position: int, source: str, expected: str) -> str:
    """Type ``source`` into the code cell at ``position``, run it and the check below it; the check's output
    once it says ``expected``."""
    page.locator(f"{PANEL} .jp-CodeCell").nth(position).locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.type(source)
    page.keyboard.press("Shift+Enter")  # runs the solution cell and selects the check below it
    page.keyboard.press("Shift+Enter")  # runs the check
    return page.wait_for_function(OUTPUT_SAYS, arg=[position + 1, expected], timeout=60_000,
                                  polling=500).json_value()


@pytest.mark.skipif(not (CHOSEN["homework"] and CHOSEN["homework"].name.startswith(ROUND_TRIP["notebook"])),
                    reason=f"the round trip answers an exercise of {ROUND_TRIP['notebook']}*")
def test_homework_round_trip_in_jupyterlab(lab, browser):
    name = CHOSEN["homework"].name
    code = [c for c in nbformat.read(lab["root"] / name, as_version=4).cells if c.cell_type == "code"]
    [position] = [i for i, c in enumerate(code)
                  if homework.nbgrader_meta(c).get("grade_id") == ROUND_TRIP["grade_id"]]
    assert homework.nbgrader_meta(code[position + 1]).get("grade"), "the check should follow the solution"
    page = browser.new_page()
    try:
        open_notebook(page, lab["url"], lab["token"], name)
        menus = page.locator(".lm-MenuBar-itemLabel").all_inner_texts()
        run_all(page)
        wrong = answer(page, position, ROUND_TRIP["wrong"], ROUND_TRIP["fails"])
        right = answer(page, position, ROUND_TRIP["right"], ROUND_TRIP["passes"])
    finally:
        page.screenshot(path=str(SCREENSHOTS / f"homework-round-trip-{Path(name).stem}.png"))
        page.close()
        shut_down_kernels(lab["url"], lab["token"])
    assert "Run" in menus and "Nbgrader" not in menus, f"the student's lab shows nbgrader's menu: {menus}"
    # (the traceback quotes the check's source, print line included, but never prints that line by itself)
    assert "AssertionError" in wrong and ROUND_TRIP["passes"] not in wrong.splitlines(), wrong
    assert right.strip() == ROUND_TRIP["passes"], f"the check should print one line when it passes: {right!r}"


# The explorer's controls (by description), the numbers it shows (by name), its problem sentence and the
# address of its picture, as the page shows them.
READ_EXPLORER = """(position) => {
    const cell = [...document.querySelectorAll('PANEL .jp-CodeCell')][position];
    const root = cell?.querySelector('.course-explorer');
    if (!root) return null;
    const label = (el) => el.querySelector('.widget-label')?.textContent.trim();
    const controls = {};
    root.querySelectorAll('.widget-slider').forEach(el => {
        controls[label(el)] = Number(el.querySelector('.widget-readout').textContent); });
    root.querySelectorAll('.widget-dropdown').forEach(el => {
        controls[label(el)] = el.querySelector('select').selectedOptions[0]?.textContent
            .replace(/\\u00a0/g, ' '); });  // ipywidgets writes an option's spaces as no-break spaces
    root.querySelectorAll('.widget-checkbox').forEach(el => {
        controls[el.querySelector('.widget-label-basic span').textContent.trim()] =
            el.querySelector('input').checked; });
    const values = Object.fromEntries([...root.querySelectorAll('.explorer-value')]
        .map(v => [v.dataset.name, Number(v.dataset.value)]));
    const problem = root.querySelector('.explorer-problem')?.textContent ?? null;
    const picture = root.querySelector('img.explorer-picture');
    return {controls, values, problem, picture: picture?.complete ? picture.src : null};
}""".replace("PANEL", PANEL)


def run_up_to(page, position: int) -> None:
    """Run every cell above the code cell at ``position`` (Run menu), then that cell (Shift+Enter)."""
    page.locator(f"{PANEL} .jp-CodeCell").nth(position).locator(".jp-InputPrompt").click()
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Above Selected Cell").first.click()
    page.wait_for_function(f"() => document.querySelector(\"{IDLE}\") !== null", timeout=RUN_TIMEOUT_S * 1000,
                           polling=500)
    page.locator(f"{PANEL} .jp-CodeCell").nth(position).locator(".jp-InputPrompt").click()
    page.keyboard.press("Shift+Enter")


def set_control(explorer, page, kind: type, description: str, value, current, arrows: bool) -> None:
    """Set one control as a student would: arrow keys on a slider's handle for a step of one (if
    ``arrows``), typing into its readout otherwise, choosing in a drop-down, ticking a check box."""
    import ipywidgets as widgets

    if kind is widgets.IntSlider:
        slider = labelled(explorer, page, "slider", description)
        if arrows and abs(value - current) == 1:
            slider.locator(".noUi-handle").focus()
            page.keyboard.press("ArrowRight" if value > current else "ArrowLeft")
        else:
            readout = slider.locator(".widget-readout")
            readout.fill(str(value))
            readout.press("Enter")
    elif kind is widgets.Dropdown:
        menu = labelled(explorer, page, "dropdown", description)
        menu.locator("select").select_option(label=str(value))
    else:
        label = page.locator(".widget-label-basic span", has_text=exactly(description))
        explorer.locator(".widget-checkbox").filter(has=label).locator("input").set_checked(value)


def exactly(text: str) -> re.Pattern:
    """A pattern for Playwright's ``has_text`` that matches ``text`` and nothing longer."""
    return re.compile(f"^{re.escape(text)}$")


def labelled(explorer, page, kind: str, description: str):
    """The control of class ``widget-KIND`` whose label is ``description``."""
    return explorer.locator(f".widget-{kind}").filter(
        has=page.locator(".widget-label", has_text=exactly(description)))


def wait_for_new_picture(page, position: int, before: dict) -> dict:
    """The explorer's state once its picture's address differs from ``before``'s."""
    changed = f"""(position) => {{
        const state = ({READ_EXPLORER})(position);
        return state && state.picture && state.picture !== {json.dumps(before["picture"])} ? state : null;
    }}"""
    return page.wait_for_function(changed, arg=position, timeout=30_000, polling=200).json_value()


def try_explorer(page, position: int, in_python, explorer_name: str, arrows: bool) -> None:
    """Run the explorer cell at ``position``, check its numbers, then take each step of its scenario and
    check that the picture changed and the numbers are helper's for the controls' shown values."""
    names = {control.description: key for key, control in in_python.controls.items()}
    kinds = {key: type(control) for key, control in in_python.controls.items()}
    expected, steps = EXPLORER_SCENARIOS[explorer_name]
    run_up_to(page, position)
    state = page.wait_for_function(READ_EXPLORER, arg=position, timeout=RUN_TIMEOUT_S * 1000,
                                   polling=500).json_value()
    explorer = page.locator(f"{PANEL} .jp-CodeCell").nth(position).locator(".course-explorer")
    picture = explorer.locator("img.explorer-picture")
    settings = {names[description]: value for description, value in state["controls"].items()}
    for step, (key, value) in enumerate([(None, None), *steps]):
        if key is not None:
            before, pixels = state, picture.screenshot()
            description = next(d for d, k in names.items() if k == key)
            set_control(explorer, page, kinds[key], description, value, settings[key], arrows)
            state = wait_for_new_picture(page, position, before)
            assert picture.screenshot() != pixels, f"setting {key} should redraw the picture"
            settings = {names[description]: shown for description, shown in state["controls"].items()}
            assert settings[key] == value, f"{key} should read {value}, reads {settings[key]}"
        assert state["values"] == expected(settings), (
            f"after step {step} ({key}={value!r}) the explorer shows {state['values']} for {settings}")
        assert (state["problem"] is not None) == (not state["values"]), state
    explorer.screenshot(path=str(SCREENSHOTS / f"explorer-{explorer_name}.png"))


def try_explorers(page, lab: dict, name: str, arrows: bool = True) -> None:
    """Take each explorer of the open notebook ``name`` (in the lab's folder) through its scenario."""
    from helper import explorers

    code = [c for c in nbformat.read(lab["root"] / name, as_version=4).cells if c.cell_type == "code"]
    for position, cell in enumerate(code):
        if explorer_of(cell):
            in_python = eval(cell.source, {"explorers": explorers})  # the same call: its controls
            try_explorer(page, position, in_python, explorer_of(cell), arrows)


def explorer_positions(lab: dict, name: str) -> list[int]:
    """The positions among the code cells of the notebook's explorer cells."""
    code = [c for c in nbformat.read(lab["root"] / name, as_version=4).cells if c.cell_type == "code"]
    return [i for i, c in enumerate(code) if explorer_of(c)]


@pytest.mark.parametrize("path", EXPLORER_NOTEBOOKS, ids=lambda path: path.stem[:2])
def test_explorers_follow_their_controls_in_jupyterlab(lab, browser, path):
    name = f"explorers/{path.name}"
    cells = explorer_positions(lab, name)
    page = browser.new_page()
    try:
        open_notebook(page, lab["url"], lab["token"], name)
        shown_before_running = shows_images(page, cells)
        try_explorers(page, lab, name)
        page.keyboard.press("Control+s")  # saved and opened again: the student lab saves the widgets' state
        page.wait_for_function(SAVED, timeout=30_000, polling=500)
        shut_down_kernels(lab["url"], lab["token"])
        open_notebook(page, lab["url"], lab["token"], name)
        shown_when_reopened = shows_images(page, cells)
        reopened = page.locator(PANEL).inner_text()
    finally:
        page.screenshot(path=str(SCREENSHOTS / f"explorers-{path.stem}.png"))
        page.close()
        shut_down_kernels(lab["url"], lab["token"])
    assert shown_before_running, f"{path.name}: the explorers' default pictures should show before running"
    assert shown_when_reopened and "Error displaying widget" not in reopened, \
        f"{path.name}: saved and opened again, the explorers should show their last pictures"


@pytest.mark.skipif(not EXPLORER_NOTEBOOKS, reason="no notebook has an explorer")
def test_an_explorer_follows_its_controls_in_notebook_7(lab, browser):
    """Notebook 7, the other front end of ipywidgets 8, served by the same server: the first notebook with
    explorers, opened there, shows their pictures before running and takes their scenarios."""
    name = f"explorers/{EXPLORER_NOTEBOOKS[0].name}"
    page = browser.new_page()
    try:
        page.goto(f"{lab['url']}/notebooks/{name}?token={lab['token']}")
        page.locator(IDLE).wait_for(timeout=90_000)
        shown_before_running = shows_images(page, explorer_positions(lab, name))
        try_explorers(page, lab, name, arrows=False)  # the sliders' readouts; JupyterLab's test uses arrows
    finally:
        page.screenshot(path=str(SCREENSHOTS / f"notebook7-{EXPLORER_NOTEBOOKS[0].stem}.png"))
        page.close()
        shut_down_kernels(lab["url"], lab["token"])
    assert shown_before_running, f"{name}: the explorers' default pictures should show in Notebook 7 too"
