"""nbclient's notebook client, going on when a cell's reply never comes.

A cell is over when the kernel has both answered it (execute_reply, shell channel) and said it is
idle again (iopub). With ipykernel 7.4 the answer sometimes never came: in 4 of 14 runs of chapter
6's student notebook, its cell with `interact` left the kernel idle, its idle status received, and
the client waiting for a reply until the time limit (kernel and client both idle in their event
loops; compare nbclient #312, nbconvert #2029). PatientClient waits for the reply in one-second
polls, and LOST_REPLY_SECONDS after the cell's idle status goes on with a reply rebuilt from the
cell's outputs (an error output makes it an error), calling `lost_reply(cell_index)`. A cell that
runs past its timeout still fails as with nbclient.

The grader's runner (coursebook.grade.runner) and `coursebook execute` run notebooks with it.
"""

from __future__ import annotations

import asyncio
import time
from queue import Empty

from jupyter_core.utils import ensure_async
from nbclient import NotebookClient

LOST_REPLY_SECONDS = 10.0  # a reply still missing this long after the cell's idle status is lost


class PatientClient(NotebookClient):
    def lost_reply(self, cell_index: int | None) -> None:
        """Called when the reply of cell `cell_index` was given up on; subclasses report it."""
        self.log.warning("the kernel never answered cell %s; went on after it said idle", cell_index)

    async def _async_poll_for_reply(self, msg_id, cell, timeout, task_poll_output_msg, task_poll_kernel_alive):
        # nbclient's wait for the cell's execute_reply, in one-second polls, so that a reply that
        # never comes after the idle status ends the wait instead of the run
        deadline = None if timeout is None else time.monotonic() + timeout
        idle_since = None
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            try:
                poll = 1.0 if left is None else max(0.0, min(1.0, left))
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=poll))
            except Empty:
                if _finished(task_poll_output_msg):
                    idle_since = idle_since or time.monotonic()
                    if time.monotonic() - idle_since >= LOST_REPLY_SECONDS:
                        task_poll_kernel_alive.cancel()
                        self.lost_reply(next((i for i, c in enumerate(self.nb.cells) if c is cell), None))
                        return reply_from_outputs(msg_id, cell)
                if left is not None and left <= 0:
                    task_poll_kernel_alive.cancel()
                    await self._async_check_alive()
                    reply = await self._async_handle_timeout(timeout, cell)  # raises, unless interrupting
                    if reply is None:  # interrupted: wait for the cell's reply to the interrupt
                        deadline = None
                        continue
                    return {**reply, "parent_header": {"msg_id": msg_id}}
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            try:
                await asyncio.wait_for(task_poll_output_msg, self.iopub_timeout)
            except (asyncio.TimeoutError, Empty):
                self.log.warning("Timeout waiting for IOPub output")
            task_poll_kernel_alive.cancel()
            return msg


def _finished(task: asyncio.Future) -> bool:
    """The cell's iopub task ended because the kernel said idle (not cancelled, nothing raised)."""
    return task.done() and not task.cancelled() and task.exception() is None


def reply_from_outputs(msg_id: str, cell) -> dict:
    """The execute_reply a cell would have had, from its outputs: an error if one was shown."""
    error = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)
    content = {"status": "ok"} if error is None else {
        "status": "error", "ename": error.get("ename", ""), "evalue": error.get("evalue", ""),
        "traceback": error.get("traceback", []),
    }  # fmt: skip
    return {"parent_header": {"msg_id": msg_id}, "msg_type": "execute_reply", "content": content}
