"""Where a submitted notebook runs: a bubblewrap sandbox, with limits on time, memory and output.

A learner's notebook is code we did not write. It runs (kernel included) inside `bwrap`:

  * the whole file system read-only (the repository, the virtual environment, everything), so
    `os.remove("/abs/path")` or `shutil.rmtree` of the course fails; a temporary directory alone
    would not stop a delete by absolute path;
  * a private /tmp (a tmpfs of --disk bytes at most) holding the notebook's working folder, gone
    when the run ends; nothing in the sandbox can write to the machine's disks;
  * no network (its own empty network namespace), its own process tree (every process it started
    dies with it), user `nobody` inside its own user namespace, a new terminal session;
  * limits set before bubblewrap starts, inherited by everything inside: address space (memory),
    the size of any one file; the wall-clock limit is the caller's (it kills the sandbox).

What comes out is only what the runner (coursebook.grade.runner) writes to a pipe: one JSON event
per line (cell started, cell raised, check result, output truncated, done), read with a byte cap.

`coursebook ensure-bubblewrap` installs Debian's bubblewrap as root with apt (CI; `make test` and
`make grade` run it first) and otherwise says what to do.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

WORKDIR = "/tmp/submission"  # the notebook's folder inside the sandbox
PRIVATE = ("/tmp", "/var/tmp", "/dev/shm")  # emptied inside: each a fresh tmpfs
LOG = "/tmp/exercise-log/checks.jsonl"  # MINIGPT_EXERCISE_LOG inside the sandbox

# Passed through from the caller's environment: the CPU kernels and threads (nbval_runs.PLAIN_CPU).
PASS_ENV = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS", "OMP_NUM_THREADS")
PASS_ENV += ("MKL_NUM_THREADS",)


@dataclass(frozen=True)
class Limits:
    seconds: float = 300.0  # wall clock per notebook, kernel start included
    memory_bytes: int = 6 << 30  # address space of each process (torch maps far more than it touches)
    output_bytes: int = 2 << 20  # outputs kept per notebook; the rest is dropped and said so
    disk_bytes: int = 512 << 20  # the private /tmp
    file_bytes: int = 256 << 20  # any one file written


def bwrap() -> str | None:
    return shutil.which("bwrap")


def available() -> str | None:
    """None when a sandbox can start here, else why not (and what to do)."""
    if sys.platform != "linux":
        return "the grader's sandbox (bubblewrap) runs on Linux only"
    if not bwrap():
        return "bubblewrap is not installed: run `coursebook ensure-bubblewrap` as root, or apt-get install bubblewrap"
    probe = [bwrap(), "--ro-bind", "/", "/", "--unshare-all", "--unshare-user", "--", "true"]
    probe = subprocess.run(probe, capture_output=True, text=True)
    if probe.returncode != 0:
        return f"bubblewrap cannot start a sandbox here ({probe.stderr.strip()}); user namespaces may be disabled"
    return None


def command(notebook: Path, extra_files: list[Path], limits: Limits, cell_timeout: float, events_fd: int) -> list[str]:
    """The bwrap command that runs `notebook` (a host path) with the runner, which writes its events to
    descriptor `events_fd` (inherited through bwrap; the kernel, started by the runner, does not get it)."""
    name = notebook.name
    args = [
        bwrap(),
        "--unshare-all",
        "--unshare-user",
        "--uid", "65534",
        "--gid", "65534",
        "--die-with-parent",
        "--new-session",
        "--ro-bind", "/", "/",
        "--dev", "/dev",
        "--proc", "/proc",
        "--size", str(limits.disk_bytes), "--tmpfs", "/tmp",
        "--tmpfs", "/var/tmp",
        "--tmpfs", "/dev/shm",
        "--dir", WORKDIR,
        "--dir", "/tmp/home",
        "--dir", os.path.dirname(LOG),
        "--ro-bind", str(notebook), f"{WORKDIR}/{name}",
    ]  # fmt: skip
    for path in hidden_by_private_tmp():
        args += ["--ro-bind", path, path]
    for path in extra_files:
        args += ["--ro-bind", str(path.resolve()), f"{WORKDIR}/{path.name}"]
    args += ["--chdir", WORKDIR, "--clearenv"]
    for key, value in environment().items():
        args += ["--setenv", key, value]
    args += [
        "--",
        sys.executable,
        "-m",
        "coursebook.grade.runner",
        f"{WORKDIR}/{name}",
        "--events-fd", str(events_fd),
        "--cell-timeout", f"{cell_timeout:g}",
        "--output-bytes", str(limits.output_bytes),
    ]  # fmt: skip
    return args


def interpreter_paths() -> set[str]:
    """Where this Python, its packages and its imports live."""
    return {sys.prefix, sys.exec_prefix, sys.base_prefix, *sys.path}


def hidden_by_private_tmp() -> list[str]:
    """What the runner needs that lives under a folder the sandbox empties: a clone and its virtual
    environment under /tmp (as a CI runner may have them) would vanish inside, and with them Python,
    minigpt and the runner itself. Each is bound back, read-only, at the same place."""
    import minigpt

    import coursebook

    needed = interpreter_paths()
    needed |= {str(Path(m.__file__).resolve().parents[1]) for m in (coursebook, minigpt) if m.__file__}
    found = set()
    for entry in needed:
        if not entry or not os.path.exists(entry):
            continue
        for path in {entry, os.path.realpath(entry)}:
            if any(path.startswith(root + "/") for root in PRIVATE) and not path.startswith(WORKDIR):
                found.add(path)
    # A folder inside another one already bound is bound with it.
    return sorted(p for p in found if not any(p.startswith(q + "/") for q in found))


def environment(workdir: str = WORKDIR, log: str = LOG) -> dict[str, str]:
    """The environment inside: nothing of the caller's but PATH, the CPU settings, and where to write."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": "/tmp/home",
        "MPLCONFIGDIR": "/tmp/home/matplotlib",
        "IPYTHONDIR": "/tmp/home/ipython",
        "JUPYTER_RUNTIME_DIR": "/tmp/home/jupyter",
        "JUPYTER_PLATFORM_DIRS": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "HF_HUB_OFFLINE": "1",
        "MINIGPT_EXERCISE_LOG": log,
    }
    env.update({k: os.environ[k] for k in PASS_ENV if k in os.environ})
    return env


def set_limits(limits: Limits):
    """A preexec function: the limits every process in the sandbox inherits."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


ENSURE_HELP = """usage: coursebook ensure-bubblewrap

Make sure the grader's sandbox, bubblewrap (`bwrap`), is installed and can start a sandbox here.
As root (or with a password-less sudo) on Debian/Ubuntu, as in CI, it installs Debian's bubblewrap
with apt-get; otherwise it says what to do. `make test` and `make grade` run it first."""


def ensure_main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in ("-h", "--help"):
        print(ENSURE_HELP)
        return 0
    if argv:
        print("coursebook ensure-bubblewrap takes no arguments", file=sys.stderr)
        return 2
    # As root, or with a password-less sudo (a CI runner), on a machine with apt.
    root = [] if os.geteuid() == 0 else ["sudo", "-n"]
    can_root = not root or (
        shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0
    )
    if not bwrap() and sys.platform == "linux" and shutil.which("apt-get") and can_root:
        print("grader: installing Debian's bubblewrap with apt-get ...", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = [*root, "apt-get", "install", "-y", "-qq", "bubblewrap"]
        if subprocess.run(install, env=env, stdout=subprocess.DEVNULL).returncode != 0:
            subprocess.run([*root, "apt-get", "update", "-qq"], env=env, check=False)
            subprocess.run(install, env=env, stdout=subprocess.DEVNULL, check=False)
    problem = available()
    if problem:
        print(f"grader: {problem}", file=sys.stderr)
        return 1
    print(f"grader: sandbox ready ({bwrap()})")
    return 0
