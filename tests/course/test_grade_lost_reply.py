"""The grader's runner when the kernel never answers a cell (coursebook.patient_client): it goes
on after the cell's idle status with a reply rebuilt from the cell's outputs, and says so; a cell
that really runs too long still stops the run. `coursebook execute` goes on the same way. A real
kernel runs each notebook; the lost reply is made by dropping the kernel's execute_reply on the
client's side."""

from __future__ import annotations

import json
import os
import time

import nbformat
import pytest

from coursebook import patient_client
from coursebook.grade import runner


def notebook(tmp_path, *sources):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    return path


def run(path, tmp_path, cell_timeout=60.0):
    """The runner's events for `path`, as a list of dicts."""
    log = tmp_path / "events.jsonl"
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    runner.run(path, runner.Events(fd), cell_timeout, 1 << 20)
    return [json.loads(line) for line in log.read_text().splitlines()]


@pytest.fixture(autouse=True)
def checks_log(monkeypatch, tmp_path):
    """The runner writes the checks' log where MINIGPT_EXERCISE_LOG says: here, not in the repository."""
    monkeypatch.setenv("MINIGPT_EXERCISE_LOG", str(tmp_path / "checks.jsonl"))


@pytest.fixture
def drop_replies(monkeypatch):
    """Drop the kernel's execute_reply to the code cells whose source is in the returned set."""
    dropped: set[str] = set()
    start = patient_client.PatientClient.async_start_new_kernel_client

    async def start_and_drop(self):
        kc = await start(self)
        shell, sent = kc.shell_channel, {}
        execute = kc.execute

        def remember(code, **kw):
            msg_id = execute(code, **kw)
            sent[msg_id] = code
            return msg_id

        get_msg = shell.get_msg

        async def get_msg_dropping(timeout=None):
            msg = await get_msg(timeout=timeout)
            if sent.get(msg["parent_header"].get("msg_id")) in dropped:
                return await get_msg_dropping(timeout)  # as if it had never come
            return msg

        kc.execute, shell.get_msg = remember, get_msg_dropping
        return kc

    monkeypatch.setattr(patient_client.PatientClient, "async_start_new_kernel_client", start_and_drop)
    monkeypatch.setattr(patient_client, "LOST_REPLY_SECONDS", 1.0)
    return dropped


def test_a_lost_reply_does_not_stop_the_run(tmp_path, drop_replies):
    cells = ["x = 41", "x += 1", "raise ValueError('a learner bug')", "print(x)"]
    drop_replies.update({cells[1], cells[2]})
    start = time.monotonic()
    events = run(notebook(tmp_path, *cells), tmp_path)
    assert time.monotonic() - start < 40  # not the cell timeout (60 s)
    assert [e["lost_reply"] for e in events if "lost_reply" in e] == [1, 2]
    # The rebuilt reply of the cell that raised is an error, with the error's name and text.
    assert [(e["error"]["cell"], e["error"]["ename"], e["error"]["evalue"]) for e in events if "error" in e] == [
        (2, "ValueError", "a learner bug")
    ]
    assert [e["cell"] for e in events if "cell" in e] == [0, 1, 2, 3]
    assert "done" in events[-1] and not [e for e in events if "dead" in e]


def test_without_lost_replies_nothing_is_said(tmp_path, drop_replies):
    events = run(notebook(tmp_path, "x = 1", "raise KeyError('k')", "x"), tmp_path)
    assert not [e for e in events if "lost_reply" in e]
    assert [e["error"]["ename"] for e in events if "error" in e] == ["KeyError"]


def test_a_cell_that_runs_too_long_still_stops_the_run(tmp_path, drop_replies):
    start = time.monotonic()
    events = run(notebook(tmp_path, "import time\ntime.sleep(60)", "print('never')"), tmp_path, cell_timeout=3)
    assert time.monotonic() - start < 30
    assert [e["dead"] for e in events if "dead" in e][0].startswith("a cell ran past 3 s")
    assert [e["cell"] for e in events if "cell" in e] == [0]
    assert not [e for e in events if "lost_reply" in e]


def test_execute_goes_on_past_a_lost_reply(tmp_path, drop_replies):
    from coursebook.execute import execute

    cells = ["x = 6 * 7", "print(x)"]
    drop_replies.add(cells[0])
    path = notebook(tmp_path, *cells)
    execute(path, cell_timeout=60)
    assert nbformat.read(path, as_version=4).cells[1].outputs[0]["text"] == "42\n"
