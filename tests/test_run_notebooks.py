"""The notebook runner's own checks: unrendered figures and leaked credentials fail a run."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

from run_notebooks import leaked_secrets, notebooks, unrendered_figures  # noqa: E402


def _notebook(tmp_path, outputs):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = outputs
    nb.cells = [cell]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    return path


def test_figure_shown_as_text_is_reported(tmp_path):
    text_only = nbformat.v4.new_output("execute_result", data={"text/plain": "<Figure size 640x480 with 1 Axes>"})
    image = nbformat.v4.new_output("display_data", data={"text/plain": "<Figure size 640x480 with 1 Axes>",
                                                         "image/png": "iVBORw0KGgo="})
    assert unrendered_figures(_notebook(tmp_path, [text_only, image])) == 1
    assert unrendered_figures(_notebook(tmp_path, [image])) == 0


def test_credentials_are_detected_and_never_echoed():
    key = "0123456789abcdef0123456789abcdef"
    assert leaked_secrets(f"your key is {key}", environ={}) == ["0123..."]
    assert leaked_secrets('{"api_key": "sk_live_abcdefghijklmnop"}', environ={})
    assert leaked_secrets("token = KGAT_abcdefghijklmnopqrst", environ={})
    assert leaked_secrets("user set the secret hunter2hunter2", environ={"KAGGLE_KEY": "hunter2hunter2"}) == [
        "KAGG..."]
    assert leaked_secrets("accuracy 0.9792, dhash 9f3c00ffee001122", environ={"KAGGLE_KEY": ""}) == []


def test_notebook_selection_by_prefix():
    chosen = notebooks(["00", "02"])
    assert [p.name[:2] for p in chosen] == ["00", "02"]
    assert len(notebooks([])) >= 9
