#!/bin/bash
# Convert ONE jupytext percent script notebooks/NN_x.py -> notebooks/NN_x.ipynb, fill badges and the
# install line from helpers/course.py, strip outputs, and delete the .py (the .ipynb is the only source).
# To edit an existing notebook: .venv/bin/jupytext --to py:percent notebooks/NN_x.ipynb ; edit ; run this again.
set -e
cd "$(dirname "$0")/.."
f="$(realpath --relative-to=. "$OLDPWD/$1" 2>/dev/null || echo "$1")"; nb="${f%.py}.ipynb"
.venv/bin/jupytext --quiet --to ipynb --update-metadata '{"jupytext": null, "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}, "language_info": {"name": "python"}}' "$f"
rm "$f"
.venv/bin/python - "$nb" <<'PY'
import sys, nbformat
sys.path.insert(0, "tools"); sys.path.insert(0, ".")
from sync_notebooks import synced
from pathlib import Path
p = Path(sys.argv[1]); nb = nbformat.read(p, as_version=4)
synced(nb, p.name); nbformat.write(nb, p)
PY
.venv/bin/nbstripout "$nb"
echo "wrote $nb"
