"""The notebook runner's own checks: unrendered figures and leaked credentials fail a run."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

from run_notebooks import (  # noqa: E402
    REHEARSALS,
    environment,
    leaked_secrets,
    notebooks,
    parse_env,
    unrendered_figures,
)


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


def test_env_pairs_are_parsed_and_bad_ones_refused():
    assert parse_env(["COURSE_STRATEGY=cpu:2", "X=a=b", "EMPTY="]) == {"COURSE_STRATEGY": "cpu:2", "X": "a=b",
                                                                      "EMPTY": ""}
    for bad in ("COURSE_STRATEGY", "=1"):
        with pytest.raises(ValueError, match="KEY=VALUE"):
            parse_env([bad])


def test_environment_is_restored_after_a_setting(monkeypatch):
    monkeypatch.setenv("COURSE_MIXED_PRECISION", "0")
    monkeypatch.delenv("COURSE_STRATEGY", raising=False)
    with environment({"COURSE_MIXED_PRECISION": "1", "COURSE_STRATEGY": "cpu:2"}):
        assert os.environ["COURSE_MIXED_PRECISION"] == "1" and os.environ["COURSE_STRATEGY"] == "cpu:2"
    assert os.environ["COURSE_MIXED_PRECISION"] == "0" and "COURSE_STRATEGY" not in os.environ


def test_rehearsal_settings_ask_for_what_the_set_up_cell_chooses_under_them():
    """Each --rehearse-gpu setting expects the precision runtime.setup picks from that setting's environment."""
    from helpers import runtime

    for overrides, expected in REHEARSALS.values():
        spec = overrides["COURSE_STRATEGY"]
        replicas = int(spec.removeprefix("cpu:")) if spec.startswith("cpu:") else 1
        mixed = runtime.wants_mixed_precision("smoke", (), environ=overrides, replicas=replicas)
        assert (expected["precision"] == "mixed_float16") == mixed and expected["replicas"] == replicas


def test_kernel_noise_goes_to_the_log_not_the_terminal(tmp_path, capfd):
    """What a kernel process writes to its own stderr (TensorFlow's C++ start-up lines) lands in OUT/logs."""
    from run_notebooks import execute

    nb = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell("PROFILE = 'smoke'\nRESULTS_DIR = '.'\nSEED = 0",
                                           metadata={"tags": ["parameters"]})
    noisy = "import os\nos.write(2, b'absl noise from C++\\n')\nprint('shown in the notebook')"
    nb.cells = [parameters, nbformat.v4.new_code_cell(noisy)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "noisy.ipynb"
    nbformat.write(nb, path)
    (tmp_path / "out" / "notebooks").mkdir(parents=True)
    name, _, error = execute(path, tmp_path / "out", "smoke", 0, 120, cwd=tmp_path)
    assert (name, error) == ("noisy", None)
    assert "absl noise from C++" in (tmp_path / "out" / "logs" / "noisy.log").read_text()
    assert "absl noise" not in capfd.readouterr().err
    executed = nbformat.read(tmp_path / "out" / "notebooks" / "noisy.ipynb", as_version=4)
    assert "shown in the notebook" in executed.cells[-1].outputs[0]["text"]


def test_later_chapters_start_first_and_recipes_stay_together():
    from run_notebooks import start_order

    selected = [(Path(f"notebooks/{n}.ipynb"), r) for n, r in
                [("00_a", None), ("02_b", "course"), ("02_b", "article"), ("07_c", "course"), ("09_d", None)]]
    assert [(p.name[:2], r) for p, r in start_order(selected)] == [
        ("09", None), ("07", "course"), ("02", "course"), ("02", "article"), ("00", None)]


def test_sparse_saves_write_every_few_seconds_and_always_at_the_end():
    from run_notebooks import sparse

    now, writes, done = [0.0], [], [False]
    save = sparse(lambda **kw: writes.append(now[0]), finished=lambda: done[0], every=10, clock=lambda: now[0])
    for t in (1, 5, 9.9, 10, 12, 19, 21, 25):  # papermill asks before and after every cell
        now[0] = t
        save()
    assert writes == [10, 21]
    done[0] = True
    now[0] = 22
    save()  # the notebook ended, failed or timed out: always written
    assert writes == [10, 21, 22]


def test_a_notebook_that_times_out_keeps_its_outputs_so_far(tmp_path):
    """The executed copy is written at the end even when a cell hangs, so CI shows where it stopped."""
    from run_notebooks import execute

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print('first cell ran')"),
                nbformat.v4.new_code_cell("import time\ntime.sleep(120)"),
                nbformat.v4.new_code_cell("print('never')")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "hangs.ipynb"
    nbformat.write(nb, path)
    (tmp_path / "out" / "notebooks").mkdir(parents=True)
    name, seconds, error = execute(path, tmp_path / "out", "smoke", 0, 3, cwd=tmp_path)
    assert name == "hangs" and "Timeout" in error and seconds < 60
    executed = nbformat.read(tmp_path / "out" / "notebooks" / "hangs.ipynb", as_version=4)
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert "first cell ran" in code[-3].outputs[0]["text"]
    assert code[-1].outputs == []


def test_the_runner_does_not_rewrite_the_notebook_around_every_cell(tmp_path, monkeypatch):
    """papermill alone writes the executed copy before and after each cell (62 writes here); the runner's
    engine writes it when it starts and when it ends, and every SAVE_EVERY seconds between."""
    import papermill.engines
    from run_notebooks import execute

    writes = []
    real_write = papermill.engines.write_ipynb
    monkeypatch.setattr(papermill.engines, "write_ipynb", lambda nb, path: (writes.append(path), real_write(nb, path)))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f"print({i})") for i in range(30)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "many.ipynb")
    (tmp_path / "out" / "notebooks").mkdir(parents=True)
    assert execute(tmp_path / "many.ipynb", tmp_path / "out", "smoke", 0, 60, cwd=tmp_path)[2] is None
    assert 2 <= len(writes) <= 4
    executed = nbformat.read(tmp_path / "out" / "notebooks" / "many.ipynb", as_version=4)
    assert [c.outputs[0]["text"] for c in executed.cells[-30:]] == [f"{i}\n" for i in range(30)]
