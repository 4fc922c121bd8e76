"""`convtui run --save`: its place is checked before the run, and its companion options are not silently ignored."""

from __future__ import annotations

import numpy as np
import pytest


def test_a_save_path_in_a_missing_folder_is_refused_before_anything_is_announced_or_run(run_cli, tmp_path):
    target = tmp_path / "missing" / "run.npz"
    result = run_cli("run", "seed-28x28x1", "--save", target)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"convtui: error: {target}: the folder {target.parent} does not exist; create it first or choose another --save path\n"


def test_a_save_path_that_is_a_folder_is_refused(run_cli, tmp_path):
    result = run_cli("run", "seed-28x28x1", "--save", tmp_path)
    assert result.returncode == 2
    assert result.stderr == f"convtui: error: {tmp_path}: is a folder; give the path of a file to write with --save\n"


@pytest.mark.parametrize(
    ("options", "named"),
    [(("--save-layers", "0"), "--save-layers only chooses"), (("--compress",), "--compress only chooses"), (("--save-layers", "all", "--compress"), "--save-layers and --compress only choose")],
)
def test_what_save_writes_chosen_without_save_is_refused(run_cli, options, named):
    result = run_cli("run", "seed-28x28x1", *options)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith(f"convtui: error: {named} what --save writes; add --save FILE.npz")


def test_save_layers_still_chooses_the_outputs_written(run_cli, tmp_path):
    target = tmp_path / "run.npz"
    result = run_cli("run", "seed-28x28x1", "--save", target, "--save-layers", "-1")
    assert result.returncode == 0, result.stderr
    with np.load(target) as saved:
        assert sorted(key for key in saved.files if key.endswith(".output")) == ["layers.1.output"]
