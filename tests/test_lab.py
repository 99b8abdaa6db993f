"""`make lab`: JupyterLab on the repository (or a folder named), without nbgrader's instructor interface
unless asked for; checked on the command, the configuration it loads, and a real server's page config."""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from conftest import IN_CHECKOUT

from helper.errors import CourseError
from helper.tools import cli, lab
from helper.tools.notebooks import REPO_ROOT


@IN_CHECKOUT
def test_the_lab_serves_the_repository_root_for_a_student(monkeypatch):
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", "/etc/site-jupyter")
    command, env = lab.command([])
    assert command[1:4] == ["-m", "jupyter", "lab"] and f"--ServerApp.root_dir={REPO_ROOT}" in command
    assert (REPO_ROOT / "notebooks").is_dir(), "notebooks/ and homework/ lie below the root it serves"
    assert env["JUPYTER_CONFIG_PATH"].split(os.pathsep) == [str(lab.STUDENT_CONFIG), "/etc/site-jupyter"]


def test_the_lab_opens_a_named_folder_passes_other_options_on_and_keeps_nbgrader_for_instructors(tmp_path,
                                                                                               monkeypatch):
    monkeypatch.delenv("JUPYTER_CONFIG_PATH", raising=False)
    command, env = lab.command(["--dir", str(tmp_path), "--port=8890", "--no-browser"])
    assert command[4:] == [f"--ServerApp.root_dir={tmp_path.resolve()}", "--port=8890", "--no-browser"]
    assert env["JUPYTER_CONFIG_PATH"] == str(lab.STUDENT_CONFIG)
    _, env = lab.command(["--instructor"])
    assert "JUPYTER_CONFIG_PATH" not in env, "an instructor's lab loads nbgrader's extensions as installed"


def test_a_missing_folder_is_one_sentence(tmp_path, capsys):
    with pytest.raises(CourseError, match=r"^There is no folder .*nowhere to open; pass an existing one"):
        lab.command(["--dir", str(tmp_path / "nowhere")])
    assert cli.main(["lab", "--dir", str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_the_student_config_turns_off_every_nbgrader_extension_installed(monkeypatch):
    pytest.importorskip("nbgrader")
    from jupyter_core.paths import jupyter_config_path, jupyter_path
    from jupyter_server.extension.config import ExtensionConfigManager
    from jupyterlab_server.config import get_federated_extensions, get_static_page_config

    monkeypatch.setenv("JUPYTER_CONFIG_PATH", lab.command([])[1]["JUPYTER_CONFIG_PATH"])
    servers = ExtensionConfigManager(read_config_path=jupyter_config_path()).get_jpserver_extensions()
    nbgrader_servers = {name: on for name, on in servers.items() if name.split(".")[0] == "nbgrader"}
    assert nbgrader_servers and not any(nbgrader_servers.values()), nbgrader_servers
    labs = [name for name in get_federated_extensions(jupyter_path("labextensions")) if "nbgrader" in name]
    disabled = get_static_page_config(level="all").get("disabledExtensions", {})
    assert labs and all(disabled.get(name) for name in labs), f"{labs} should be disabled: {disabled}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _started_lab(folder, options: list[str]) -> tuple[dict, int]:
    """Start ``lab.command(options)`` on ``folder``: its page config and the status of /formgrader."""
    port, token = _free_port(), secrets.token_hex(16)
    command, env = lab.command([*options, "--dir", str(folder), "--no-browser", "--ip=127.0.0.1",
                                f"--port={port}", f"--IdentityProvider.token={token}",
                                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                                *(["--allow-root"] if os.geteuid() == 0 else [])])
    env.update(JUPYTER_RUNTIME_DIR=str(folder / "runtime"), JUPYTERLAB_WORKSPACES_DIR=str(folder / "ws"))
    url, log_path = f"http://127.0.0.1:{port}", folder / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    page = urllib.request.urlopen(f"{url}/lab?token={token}", timeout=2).read().decode()
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        pytest.fail(f"JupyterLab did not start: {log_path.read_text()[-2000:]}")
                    time.sleep(0.5)
            try:
                status = urllib.request.urlopen(f"{url}/formgrader?token={token}", timeout=10).status
            except urllib.error.HTTPError as error:
                status = error.code
        finally:
            server.terminate()
            server.wait(timeout=30)
    data = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S)
    return json.loads(data.group(1)), status


@pytest.mark.parametrize("instructor", [False, True], ids=["student", "instructor"])
def test_a_started_lab_has_nbgrader_only_for_instructors(tmp_path, instructor):
    pytest.importorskip("nbgrader")
    config, formgrader = _started_lab(tmp_path, ["--instructor"] if instructor else [])
    assert config["serverRoot"] == str(tmp_path.resolve())
    assert ("@jupyter/nbgrader" in config["disabledExtensions"]) is not instructor
    assert (formgrader == 404) is not instructor, f"/formgrader answered {formgrader}"
