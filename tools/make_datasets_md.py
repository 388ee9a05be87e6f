"""Write datasets.md from the catalogue (``helpers/datasets/catalog.py``).

    python tools/make_datasets_md.py
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from helpers.datasets import docs  # noqa: E402

if __name__ == "__main__":
    (ROOT / "datasets.md").write_text(docs.render())
    print("wrote", ROOT / "datasets.md")
