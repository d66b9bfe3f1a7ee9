#!/usr/bin/env bash
# The Colab path, simulated: a fresh virtual environment with another torch than the pinned one,
# minigpt installed from a git URL of this repository (as the chapters' Colab cell does), and
# chapters run by nbval from a folder outside the repository, so that nothing but the installed
# package is importable. Installs only from the package registry / local wheel cache.
#
#   make colab-sim                        # torch 2.14.1, every chapter of the en edition
#   COLAB_TORCH=2.2.2 make colab-sim      # another torch (>= 2.2, what pyproject.toml allows)
#   COLAB_CHAPTERS="01_parameters" make colab-sim
#
# It installs the committed HEAD (git+file://), not uncommitted changes: commit first.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
torch_version="${COLAB_TORCH:-2.14.1}"
chapters="${COLAB_CHAPTERS:-$(cd "$repo/notebooks/en" && ls *.ipynb | sed 's/\.ipynb$//' | tr '\n' ' ')}"
work="${COLAB_SIM_DIR:-${TMPDIR:-/tmp}/minigpt-colab-sim}"
python="${PYTHON:-python3}"

rm -rf "$work"
mkdir -p "$work/run"
start=$(date +%s)
"$python" -m venv "$work/venv"
pip=("$work/venv/bin/python" -m pip install -q)
quiet() { "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }
quiet "${pip[@]}" --upgrade pip
quiet "${pip[@]}" "torch==$torch_version"
quiet "${pip[@]}" "minigpt @ git+file://$repo@$(git -C "$repo" rev-parse HEAD)" nbval ipykernel
echo "installed in $(( $(date +%s) - start )) s"

for chapter in $chapters; do
  cp "$repo/notebooks/en/$chapter.ipynb" "$work/run/"
done
cp "$repo/nbval_sanitize.cfg" "$work/run/"
cd "$work/run"
"$work/venv/bin/python" - "$repo" <<'PY'
import platform, sys
from pathlib import Path
import minigpt, torch
where = Path(minigpt.__file__).resolve()
assert Path(sys.argv[1]) not in where.parents, f"minigpt imported from the repository: {where}"
print(f"python {platform.python_version()}, torch {torch.__version__}, minigpt from {where.parent}")
PY
PYTHONHASHSEED=0 "$work/venv/bin/python" -m pytest -p no:cacheprovider --nbval --nbval-current-env \
  --nbval-sanitize-with nbval_sanitize.cfg ./*.ipynb
echo "colab-sim: torch $torch_version, chapters: $chapters, commit $(git -C "$repo" rev-parse --short HEAD), $(( $(date +%s) - start )) s"
