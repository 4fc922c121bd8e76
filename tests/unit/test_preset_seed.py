"""A preset may carry the seed of its initial weights (`seed = N`); a file without one means what it always meant."""

from __future__ import annotations

from pathlib import Path

import pytest

from convtui.errors import PresetError
from convtui.model.preset import DEFAULT_SEED, load_preset, parse_preset, preset_seed, preset_text, read_preset, save_preset

SMALL = 'name = "small"\ninput_shape = [8, 8, 1]\n\n[[layers]]\ntype = "Conv2D"\nfilters = 2\nkernel_size = 3\n'


def test_a_preset_names_its_seed_and_load_preset_still_gives_the_stack(tmp_path: Path) -> None:
    path = tmp_path / "seeded.toml"
    path.write_text(SMALL.replace('input_shape', 'seed = 7\ninput_shape'))
    assert read_preset(path).seed == 7 and preset_seed(path) == 7
    assert load_preset(path) == parse_preset(SMALL, "small.toml")


def test_an_old_file_and_a_built_in_name_no_seed() -> None:
    assert read_preset("lenet5").seed is None
    assert "seed" not in preset_text(load_preset("lenet5"))


@pytest.mark.parametrize("value", ['"7"', "-1", "true", "4294967296", "1.5"])
def test_a_seed_that_is_not_one_names_the_field(tmp_path: Path, value: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(f"seed = {value}\n" + SMALL)
    with pytest.raises(PresetError) as raised:
        read_preset(path)
    assert raised.value.field_name == "seed" and "0 to 4,294,967,295" in str(raised.value)


def test_save_writes_a_seed_only_when_it_is_not_the_default(tmp_path: Path) -> None:
    stack = parse_preset(SMALL, "small.toml")
    assert "seed" not in preset_text(stack, DEFAULT_SEED)
    path = save_preset(stack, tmp_path / "out.toml", seed=12345)
    assert "seed = 12345" in path.read_text()
    assert read_preset(path).seed == 12345 and load_preset(path) == stack


def test_convtui_run_uses_the_files_seed_unless_seed_is_given(tmp_path: Path) -> None:
    """The seeded file's filters equal `--seed 7` on the plain file's, and `--seed 0` overrides the file's 7."""
    import subprocess
    import sys

    plain, seeded = tmp_path / "plain.toml", tmp_path / "seeded.toml"
    plain.write_text(SMALL)
    seeded.write_text(SMALL.replace("input_shape", "seed = 7\ninput_shape"))

    def printed(*arguments: str | Path) -> str:
        done = subprocess.run([sys.executable, "-m", "convtui", "run", *map(str, arguments), "--image", "gradient", "--width", "40"], capture_output=True, text=True, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        return done.stdout.replace(str(plain), "F").replace(str(seeded), "F").replace("plain", "F").replace("seeded", "F")

    assert printed(seeded) == printed(plain, "--seed", "7")
    assert printed(seeded, "--seed", "0") == printed(plain) != printed(plain, "--seed", "7")
