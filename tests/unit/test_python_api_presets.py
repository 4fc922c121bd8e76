"""`save_preset` keeps what makes a preset's weights: its `seed`, and a `weights` path that still names
the same .npz from the folder the preset is saved into."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from convtui.errors import PresetError
from convtui.model.preset import existing_preset_weights_path, load_preset, preset_text, read_preset, save_preset
from convtui.model.stack import Stack

SMALL = 'name = "small"\ninput_shape = [8, 8, 1]\n{top}\n[[layers]]\ntype = "Conv2D"\nfilters = 2\nkernel_size = 3\n'


def write_preset(path: Path, top: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SMALL.format(top=top), encoding="utf-8")
    return path


@pytest.fixture
def with_weights(tmp_path: Path) -> Path:
    """models/net.toml naming net.npz beside it."""
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "net.npz").write_bytes(b"weights")
    return write_preset(tmp_path / "models" / "net.toml", 'weights = "net.npz"')


def test_a_preset_saved_into_another_folder_still_names_its_weights(with_weights: Path, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    saved = save_preset(load_preset(with_weights), tmp_path / "sub" / "net2.toml")
    assert 'weights = "../models/net.npz"' in saved.read_text()
    assert existing_preset_weights_path(load_preset(saved)).samefile(tmp_path / "models" / "net.npz")


def test_a_preset_saved_from_another_working_folder_names_them_too(with_weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path / "models")
    stack = load_preset("net.toml")
    monkeypatch.chdir(tmp_path)
    saved = save_preset(stack, "copy.toml")
    assert 'weights = "models/net.npz"' in saved.read_text()


def test_a_preset_saved_beside_its_weights_keeps_the_path_as_written(with_weights: Path) -> None:
    saved = save_preset(load_preset(with_weights), with_weights.parent / "renamed.toml")
    assert 'weights = "net.npz"' in saved.read_text()


def test_a_file_of_the_same_name_in_the_new_folder_is_not_the_one_named(with_weights: Path, tmp_path: Path) -> None:
    """Saved elsewhere, the preset still names the weights it was read with, whatever lies in the new folder."""
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "net.npz").write_bytes(b"another network's weights")
    saved = save_preset(load_preset(with_weights), tmp_path / "new" / "net.toml")
    assert 'weights = "../models/net.npz"' in saved.read_text()


def test_a_stack_made_in_code_keeps_its_path_and_folders_that_share_only_the_root_get_an_absolute_one(tmp_path: Path) -> None:
    stack = load_preset(write_preset(tmp_path / "plain.toml"))
    made = Stack(stack.input_shape, stack.layers, weights_file="w.npz")
    assert 'weights = "w.npz"' in save_preset(made, tmp_path / "made.toml").read_text()
    elsewhere = Stack(stack.input_shape, stack.layers, weights_file="w.npz", source="/nonexistent-folder/net.toml")
    assert 'weights = "/nonexistent-folder/w.npz"' in save_preset(elsewhere, tmp_path / "moved.toml").read_text()


def test_a_built_in_given_weights_in_code_names_them_beside_wherever_it_is_saved(tmp_path: Path) -> None:
    stack = replace(load_preset("seed-28x28x1"), weights_file="net.npz")
    assert 'weights = "net.npz"' in save_preset(stack, tmp_path / "net.toml").read_text()


def test_save_keeps_the_presets_seed_unless_another_is_given(tmp_path: Path) -> None:
    stack = load_preset(write_preset(tmp_path / "seeded.toml", "seed = 7"))
    assert read_preset(save_preset(stack, tmp_path / "kept.toml")).seed == 7
    assert read_preset(save_preset(stack, tmp_path / "other.toml", seed=9)).seed == 9
    assert "seed" not in save_preset(stack, tmp_path / "default.toml", seed=0).read_text()
    assert "seed = 7" in preset_text(stack)


def test_save_refuses_a_seed_no_preset_could_hold(tmp_path: Path) -> None:
    with pytest.raises(PresetError, match=r"^field 'seed': expected a whole number from 0 to 4,294,967,295, found 1\.5$"):
        save_preset(load_preset("seed-28x28x1"), tmp_path / "bad.toml", seed=1.5)  # type: ignore[arg-type]
    assert not (tmp_path / "bad.toml").exists()
