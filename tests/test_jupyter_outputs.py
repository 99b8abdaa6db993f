"""What a student sees in Jupyter, in a real kernel: one Kernel > Interrupt stops a loop of ``fit`` calls
with one line, a saved notebook holds its progress bars as text (no widget whose state is lost), and
``record_result`` shows its headline only."""

from __future__ import annotations

import os
import queue
import time
from pathlib import Path

import nbformat
import pytest
from conftest import write_tiny_notebook

from helper.results import RESULT_MIME
from helper.tools.notebooks import execute

pytestmark = pytest.mark.notebook

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

LOOP_OF_FITS = """\
import time

import torch
from torch import nn

from helper import train


class Slow:
    # Batches that take a while, so that the interrupt arrives in the middle of training.
    def __len__(self):
        return 1000

    def __iter__(self):
        print("training")
        for _ in range(1000):
            time.sleep(0.01)
            yield torch.randn(4, 4), torch.zeros(4, dtype=torch.long)


started = []
for name in ("first", "second", "third"):
    started.append(name)
    model = nn.Linear(4, 2)
    train.fit(model, Slow(), None, epochs=2, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
              device="cpu", progress=False, label=name)
"""


def _until_idle(client, timeout: float = 60) -> list[dict]:
    """The iopub messages of the running request up to the kernel's next 'idle'."""
    messages = []
    while True:
        message = client.get_iopub_msg(timeout=timeout)
        messages.append(message)
        if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
            return messages


def _printed(messages: list[dict]) -> str:
    return "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream")


def test_one_interrupt_ends_a_loop_of_fits_and_jupyter_shows_one_line():
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3",
                                       extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
    try:
        client.execute(LOOP_OF_FITS)
        seen: list[dict] = []
        while "training" not in _printed(seen):
            seen.append(client.get_iopub_msg(timeout=60))
        time.sleep(1)  # well inside the first run's 20 s of training
        manager.interrupt_kernel()
        seen += _until_idle(client)
        errors = [m["content"] for m in seen if m["msg_type"] == "error"]
        assert len(errors) == 1 and errors[0]["ename"] == "TrainingInterrupted"
        assert errors[0]["traceback"] == [
            "first: Training interrupted after 0 of 2 epochs; without a checkpoint there is nothing to "
            "resume from."], (
            "Jupyter should show the interrupt as one line, not a traceback")

        client.execute("print(started, train.finished())")
        printed = _printed(_until_idle(client))
        assert printed.startswith("skipped: training was interrupted"), printed
        assert printed.endswith("['first'] False\n"), "one interrupt should end the loop: no second run"
    except queue.Empty:
        pytest.fail("the kernel did not answer within a minute")
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_a_saved_notebook_keeps_progress_bars_as_text_and_results_without_a_dict(tmp_path):
    body = ["import torch\nfrom torch import nn\n\nfrom helper import train\n\n"
            "batches = [(torch.randn(8, 4), torch.randint(0, 2, (8,))) for _ in range(3)]\n"
            "model = nn.Linear(4, 2)\n"
            'history = train.fit(model, batches, batches, epochs=2, label="tiny", device="cpu",\n'
            "                    optimizer=torch.optim.SGD(model.parameters(), lr=0.1))"]
    saved = tmp_path / "saved.ipynb"
    execute(write_tiny_notebook(tmp_path / "bars.ipynb", body), output=saved)
    cells = nbformat.read(saved, as_version=4).cells
    outputs = [(cell.source, output) for cell in cells if cell.cell_type == "code" for output in cell.outputs]
    widgets = [source for source, output in outputs if WIDGET_MIME in output.get("data", {})]
    assert not widgets, f"a reopened notebook would show 'model not found' for the bars of {widgets}"
    [fit_cell] = [cell for cell in cells if "train.fit(" in cell.source]
    texts = [output["data"]["text/plain"] for output in fit_cell.outputs
             if output.output_type == "display_data"]
    assert any(text.startswith("tiny: epochs: 100%") and "2/2" in text for text in texts), texts
    [result_cell] = [cell for cell in cells if "record_result(" in cell.source]
    assert [output.output_type for output in result_cell.outputs] == ["display_data"], (
        "record_result should show its headline only, no dict as the cell's value")
    assert RESULT_MIME in result_cell.outputs[0]["data"]


@pytest.mark.skipif(os.name == "nt", reason="Windows has no Unix sockets; its kernels keep TCP")
def test_notebooks_run_on_a_kernel_reached_through_its_own_unix_sockets(tmp_path):
    """No TCP port to lose to another process between choosing it and the kernel binding it; the sockets'
    folder goes when the run ends."""
    body = ["import json\nfrom ipykernel import get_connection_info\n\n"
            "reached = json.loads(get_connection_info())\nprint(reached['transport'], reached['ip'])"]
    saved = tmp_path / "saved.ipynb"
    execute(write_tiny_notebook(tmp_path / "sockets.ipynb", body), output=saved)
    [cell] = [c for c in nbformat.read(saved, as_version=4).cells if "get_connection_info" in c.source]
    transport, address = cell.outputs[0]["text"].split()
    assert transport == "ipc", f"the kernel should listen on Unix sockets, not {transport}"
    assert not Path(address).parent.exists(), "the kernel's socket folder should be removed after the run"
