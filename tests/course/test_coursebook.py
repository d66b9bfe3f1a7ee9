"""The course's tools as a package (coursebook/): one entry point whose every command answers
--help, an install that imports from any folder, the shared write-or-check mechanism, and no
edits of the import path (of sys's path list, or PYTHONPATH) left in the repository."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from coursebook import cli
from coursebook.generated import Output, sync

ROOT = Path(__file__).resolve().parents[2]


def coursebook(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """`python -m coursebook ARGS` in a fresh interpreter, without PYTHONPATH, from `cwd`."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, "-m", "coursebook", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )


def test_every_command_is_in_one_group_of_the_help():
    grouped = [name for names in cli.GROUPS.values() for name in names]
    assert sorted(grouped) == sorted(cli.COMMANDS) and len(grouped) == len(set(grouped))


def test_help_lists_every_command_from_any_folder(tmp_path):
    top = coursebook("--help", cwd=tmp_path)  # an installed package, imported from anywhere
    assert top.returncode == 0, top.stderr
    assert top.stdout.startswith("usage: coursebook <command>")
    for name, (_, help_) in cli.COMMANDS.items():
        assert re.search(rf"^  {re.escape(name)} +{re.escape(help_)}$", top.stdout, re.M), name
    wrong = coursebook("stmap", cwd=tmp_path)
    assert wrong.returncode == 2 and "unknown command 'stmap'" in wrong.stderr


def test_the_console_script_is_installed_beside_python():
    script = shutil.which("coursebook", path=str(Path(sys.executable).parent))
    assert script, "no `coursebook` script next to this interpreter: pip install -e ./coursebook"


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_every_command_answers_help(name):
    proc = coursebook(name, "--help", cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith(f"usage: coursebook {name}"), proc.stdout[:200]
    assert len(proc.stdout.splitlines()) >= 3, f"coursebook {name} --help says too little"


@pytest.mark.parametrize("sweep", ["heads", "gqa", "scale", "training", "positions", "scale_lr"])
def test_sweeps_answer_help(sweep):
    proc = coursebook("sweep", sweep, "--help", cwd=ROOT)
    assert proc.returncode == 0 and proc.stdout.startswith(f"usage: coursebook sweep {sweep}"), proc.stderr


def test_sync_writes_stale_files_and_check_changes_nothing(tmp_path, capsys):
    same, stale, new = tmp_path / "same.md", tmp_path / "stale.md", tmp_path / "sub" / "new.md"
    same.write_text("kept\n")
    stale.write_text("old\n")
    outputs = [Output(same, "kept\n"), Output(stale, "fresh\n", ["a table"]), Output(new, "made\n")]

    assert sync(outputs, check=True, what="pages", fix="make it so") == 1
    err = capsys.readouterr().err
    assert "2 of 3 pages out of date; run `make it so`" in err and "stale.md: a table" in err
    assert stale.read_text() == "old\n" and not new.exists()  # --check wrote nothing

    assert sync(outputs, check=False, what="pages", fix="make it so") == 0
    assert (same.read_text(), stale.read_text(), new.read_text()) == ("kept\n", "fresh\n", "made\n")
    assert sync(outputs, check=True, what="pages", fix="make it so") == 0


def repository_files(suffix: str) -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", f"*{suffix}"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    return [ROOT / name for name in out.decode().split("\0") if name and (ROOT / name).is_file()]


def test_no_import_path_edits_in_the_repository():
    # Reading the path is fine (the grader's sandbox binds what it lists); changing it is not.
    edit = r"\.path\s*(?:\.(?:insert|append|extend|remove)\(|\[[^]]*\]\s*=|\+?=(?!=))"
    needle = re.compile(r"\bsys" + edit)  # spelled in two parts, so this file is not a hit
    edits = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in repository_files(".py")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if needle.search(line)
    ]
    assert not edits, f"the import path is edited in {edits}: install the package (pip install -e), import it"


def test_no_pythonpath_in_the_makefile_and_the_workflows():
    texts = [ROOT / "Makefile", ROOT / ".ci" / "run", *sorted((ROOT / ".github" / "workflows").glob("*.yml"))]
    assert not [p.name for p in texts if "PYTHONPATH" in p.read_text(encoding="utf-8")]


def test_no_pythonpath_set_by_the_tests_and_scripts():
    # Removing it (env.pop("PYTHONPATH")) is fine: that makes a subprocess see only the installed package.
    setting = re.compile(r"""["']PYTHON""" + r"""PATH["']\s*:|export\s+PYTHON""" + r"PATH=")
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in repository_files(".py") + repository_files(".sh")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if setting.search(line)
    ]
    assert not found, f"PYTHONPATH is set in {found}: minigpt and coursebook are installed (pip install -e)"


def test_parity_reads_docstrings_as_prose_but_strings_as_code():
    from coursebook.cells import strip_comments

    en = 'def f(x):\n    """Return x twice."""\n    return 2 * x  # twice\n\n"""About f."""\ns = "a value"\n'
    zh = 'def f(x):\n    """返回 x 的两倍，\n    跨两行。"""\n    return 2 * x  # 两倍\n\n"""关于 f。"""\n'
    zh += 's = "a value"\n'
    assert strip_comments(en, docstrings=True) == strip_comments(zh, docstrings=True)
    assert strip_comments(en, docstrings=True) == ["def f(x):", "    return 2 * x", 's = "a value"']
    assert strip_comments(en) != strip_comments(zh)  # the grader's "as given" keeps docstrings
    # a string that is an argument or a value is code: a translated one is a difference
    assert strip_comments('print("Hello")', docstrings=True) != strip_comments('print("你好")', docstrings=True)
    assert strip_comments('s = """a"""', docstrings=True) != strip_comments('s = """乙"""', docstrings=True)
