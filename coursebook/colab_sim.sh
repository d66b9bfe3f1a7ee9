#!/usr/bin/env bash
# The Colab path, simulated at both ends of what pyproject.toml allows. Each run is a fresh virtual
# environment on Python 3.12 (what Colab runs), minigpt installed from a git URL of this repository
# (as the chapters' Colab cell does), and the chapters run by nbval from a folder outside the
# repository, so that nothing but the installed package is importable.
#
#   floor   every lower bound of pyproject.toml's dependencies and course extra installed exactly
#           (torch, numpy, tokenizers, safetensors, filelock, tqdm, matplotlib, ipywidgets), then
#           the library's tests (tests/library) against that install, then every chapter must run
#           without an error. Printed outputs are not compared here: a few numbers (the bytes
#           autograd keeps, sampled text) follow torch's kernels. No transformers: the hf extra's
#           releases need newer tokenizers and safetensors than these floors, so the comparisons
#           with transformers skip here (make test runs them at the newest).
#   newest  torch $COLAB_TORCH (2.14.1, the newest on the course machines), everything else as pip
#           resolves it today; every chapter's printed output must match the committed notebook.
#
#   make colab-sim                          # floor, then newest, every chapter of the en edition
#   COLAB_RUNS=newest make colab-sim        # one of them
#   COLAB_TORCH=2.13.0 COLAB_RUNS=newest make colab-sim
#   COLAB_CHAPTERS="01_parameters" make colab-sim
#
# Disk: about 7 GB free for one run, 12 GB to install the newest while the floor runs; each venv is
# removed once its run passed, and with too little free space it stops before installing anything.
#
# It installs the committed HEAD (git+file://), not uncommitted changes: commit first. Installs only
# from the package registry / local wheel cache: torch is a CUDA build of several GB there.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
newest_torch="${COLAB_TORCH:-2.14.1}"
runs="${COLAB_RUNS:-floor newest}"
chapters="${COLAB_CHAPTERS:-$(cd "$repo/notebooks/en" && ls *.ipynb | sed 's/\.ipynb$//' | tr '\n' ' ')}"
work="${COLAB_SIM_DIR:-${TMPDIR:-/tmp}/minigpt-colab-sim}"
commit="$(git -C "$repo" rev-parse HEAD)"

# Colab's Python: 3.12 from PATH, else from pyenv; COLAB_PYTHON names another.
python="${COLAB_PYTHON:-}"
if [ -z "$python" ]; then
  for candidate in python3.12 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12; do
    if "$candidate" -c "" 2>/dev/null; then python="$candidate"; break; fi
  done
fi
[ -n "$python" ] || { echo "colab-sim: no Python 3.12 (Colab's) found; install it or set COLAB_PYTHON" >&2; exit 1; }

quiet() { "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }

# pyproject.toml's lower bounds as exact pins: "torch>=2.6" -> "torch==2.6".
floor_pins() {
  "$python" - "$repo/pyproject.toml" <<'PY'
import re, sys, tomllib

project = tomllib.load(open(sys.argv[1], "rb"))["project"]
extras = project["optional-dependencies"]
for req in project["dependencies"] + extras["course"]:
    m = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^]]*\])?>=([0-9][0-9A-Za-z.]*)(,<[0-9A-Za-z.]+)?", req.replace(" ", ""))
    if m is None:
        sys.exit(f"colab-sim: no plain lower bound (name>=version) in {req!r} of pyproject.toml")
    print(f"{m[1]}=={m[3]}")
PY
}

# install NAME EXTRAS PIP-ARGS...: a fresh venv with minigpt[EXTRAS] from the git URL, nbval, ipykernel.
install() {
  local venv="$work/$1/venv" extras="$2"
  shift 2
  "$python" -m venv "$venv"
  quiet "$venv/bin/python" -m pip install -q --upgrade pip
  quiet "$venv/bin/python" -m pip install -q "$@" \
    "minigpt[$extras] @ git+file://$repo@$commit" nbval ipykernel
  "$venv/bin/python" -m pip list 2>/dev/null |
    grep -E -i "^(torch|numpy|tokenizers|safetensors|filelock|tqdm|matplotlib|ipywidgets) " |
    awk '{printf "%s %s, ", $1, $2} END {print ""}'
}

# chapters NAME NBVAL-ARGS...: the chapters, copied out of the repository, under nbval.
run_chapters() {
  local dir="$work/$1" venv="$work/$1/venv"
  shift
  mkdir -p "$dir/run"
  for chapter in $chapters; do cp "$repo/notebooks/en/$chapter.ipynb" "$dir/run/"; done
  cp "$repo/nbval_sanitize.cfg" "$dir/run/"
  (
    cd "$dir/run"
    "$venv/bin/python" - "$repo" <<'PY'
import platform, sys
from pathlib import Path
import minigpt, torch
where = Path(minigpt.__file__).resolve()
assert Path(sys.argv[1]) not in where.parents, f"minigpt imported from the repository: {where}"
print(f"python {platform.python_version()}, torch {torch.__version__}, minigpt from {where.parent}")
PY
    PYTHONHASHSEED=0 "$venv/bin/python" -m pytest -p no:cacheprovider --nbval-current-env \
      --nbval-sanitize-with nbval_sanitize.cfg "$@" ./*.ipynb
  )
}

rm -rf "$work"
mkdir -p "$work"

# Disk: each venv holds a CUDA build of torch (3.4 GB at the floor, 5.0 GB at the newest, measured
# in this script's venvs); a venv is removed as soon as its run has passed.
free_gb() { df -Pk "$work" | awk 'NR == 2 {printf "%d", $4 / 1048576}'; }
one_run_gb=7
both_gb=12
free="$(free_gb)"
if [ "$free" -lt "$one_run_gb" ]; then
  echo "colab-sim: only $free GB free under $work, and one run needs about $one_run_gb GB (a CUDA" \
    "build of torch in a fresh venv). Free some disk, or set COLAB_SIM_DIR to a folder on a larger" \
    "disk." >&2
  exit 1
fi
summary=()
# The installs are mostly unpacking wheels from the local cache: where the disk holds both venvs,
# the newest one installs in the background while the floor installs and tests.
newest_install=""
if [[ " $runs " == *" newest "* && " $runs " == *" floor "* ]]; then
  if [ "$free" -ge "$both_gb" ]; then
    (install newest course "torch==$newest_torch" >"$work/newest-install.log" 2>&1) &
    newest_install=$!
  else
    echo "colab-sim: $free GB free under $work, under the $both_gb GB that both venvs need at once:" \
      "the runs install one after the other"
  fi
fi
for run in $runs; do
  start=$(date +%s)
  echo "== colab-sim $run =="
  case "$run" in
    floor)
      floor_pins >"$work/floor-constraints.txt"
      echo "pins: $(tr '\n' ' ' <"$work/floor-constraints.txt")"
      install floor course,test -c "$work/floor-constraints.txt"
      echo "installed in $(($(date +%s) - start)) s"
      # The library's tests against the installed package (PYTHONSAFEPATH: not the clone's copy).
      (cd "$repo" && PYTHONSAFEPATH=1 "$work/floor/venv/bin/python" -m pytest -q -p no:cacheprovider \
        -n 2 --dist loadscope tests/library)
      run_chapters floor --nbval-lax
      ;;
    newest)
      if [ -n "$newest_install" ]; then
        status=0
        wait "$newest_install" || status=$?
        cat "$work/newest-install.log"
        [ "$status" -eq 0 ] || { echo "colab-sim: the newest install failed (exit $status)" >&2; exit "$status"; }
        echo "installed in the background, ready after $(($(date +%s) - start)) s more"
      else
        install newest course "torch==$newest_torch"
        echo "installed in $(($(date +%s) - start)) s"
      fi
      run_chapters newest --nbval
      ;;
    *)
      echo "colab-sim: unknown run '$run' (floor, newest)" >&2
      exit 1
      ;;
  esac
  rm -rf "$work/$run/venv"
  summary+=("$run $(($(date +%s) - start)) s")
done
echo "colab-sim: ${summary[*]}; chapters: $chapters; commit ${commit:0:7}"
