"""Presets on disk: the malformed corpus (tests/data/bad), atomic saving, built-in names, loading.

Every bad file is run through `convtui summary FILE` as a user would: exit 2, exactly one line on
stderr naming the file (and the layer and field where there is one), no traceback, no stdout.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from convtui.errors import ConvtuiError, PresetError
from convtui.model import Stack, builtin_preset_names, load_preset, parse_preset, preset_text, save_preset
from convtui.model import preset as preset_module
from convtui.model.layers import BatchNormalization, Conv2D, Dense, Flatten, MaxPooling2D, ZeroPadding2D

REPO = Path(__file__).resolve().parents[2]
BAD = REPO / "tests" / "data" / "bad"
PRESETS = REPO / "presets"

# file -> (layer "index (Type)" or None, field or None, phrases the message must contain)
CORPUS: dict[str, tuple[str | None, str | None, tuple[str, ...]]] = {
    "syntax_error.toml": (None, None, ("is not valid TOML", "(at line ")),
    "syntax_unclosed_string.toml": (None, None, ("is not valid TOML", "(at line 1")),
    "duplicate_key.toml": (None, None, ("is not valid TOML",)),
    "string_filters.toml": ("layer 2 (Conv2D)", "filters", ("expected a whole number", 'found "32" (a string)')),
    "float_kernel.toml": ("layer 0 (Conv2D)", "kernel_size", ("expected a positive whole number", "found 3.0")),
    "nan_kernel.toml": ("layer 0 (Conv2D)", "kernel_size", ("expected", "found nan")),
    "bool_pool_size.toml": ("layer 1 (MaxPooling2D)", "pool_size", ("expected", "found true")),
    "negative_filters.toml": ("layer 0 (Conv2D)", "filters", ("expected a whole number from 1", "found -8")),
    "zero_kernel.toml": ("layer 0 (Conv2D)", "kernel_size", ("expected", "found [0, 3]")),
    "zero_units.toml": ("layer 2 (Dense)", "units", ("expected a whole number from 1", "found 0")),
    "absurd_filters.toml": ("layer 0 (Conv2D)", "filters", ("1,000,000", "found 1000000000000")),
    "huge_integer.toml": ("layer 0 (Dense)", "units", ("expected", "found 99999999999999999999999999999999")),
    "absurd_input_shape.toml": (None, "input_shape", ("expected [height, width, channels]", "1000000000000")),
    "unknown_type.toml": ("layer 1 (MaxPoolin2D)", "type", ('unknown layer type "MaxPoolin2D"', 'did you mean "MaxPooling2D"?')),
    "unknown_type_far.toml": ("layer 0 (Transformer)", "type", ('unknown layer type "Transformer"', "known types: Conv2D")),
    "type_not_string.toml": ("layer 0", "type", ("expected a layer type name", "found 3")),
    "missing_type.toml": ("layer 1", "type", ("expected a layer type name",)),
    "unknown_argument.toml": ("layer 0 (Conv2D)", "kernal_size", ('unknown argument "kernal_size"', 'did you mean "kernel_size"?')),
    "unknown_top_level_key.toml": (None, "nmae", ('unknown key "nmae"', 'did you mean "name"?')),
    "missing_input_shape.toml": (None, "input_shape", ("missing", "input_shape = [height, width, channels]")),
    "empty.toml": (None, "input_shape", ("missing",)),
    "comments_only.toml": (None, "input_shape", ("missing",)),
    "input_shape_two_sides.toml": (None, "input_shape", ("expected [height, width, channels]", "found [28, 28]")),
    "input_shape_floats.toml": (None, "input_shape", ("expected", "found [28.0, 28, 1]")),
    "input_shape_bool.toml": (None, "input_shape", ("expected", "found [28, true, 1]")),
    "input_shape_zero.toml": (None, "input_shape", ("expected", "found [0, 28, 1]")),
    "input_shape_string.toml": (None, "input_shape", ("expected", '"28x28x1"')),
    "layers_not_array.toml": (None, "layers", ("expected [[layers]] tables", '"conv"')),
    "layers_table.toml": (None, "layers", ("expected [[layers]] tables", "found a table")),
    "layers_of_numbers.toml": (None, "layers", ("expected [[layers]] tables", "found [1, 2]")),
    "missing_required.toml": ("layer 1 (Conv2D)", "kernel_size", ("missing", "Conv2D needs filters, kernel_size")),
    "bad_padding.toml": ("layer 0 (Conv2D)", "padding", ('expected "valid", "same"', 'found "full" (a string)')),
    "table_as_argument.toml": ("layer 0 (Conv2D)", "kernel_size", ("expected", "found a table")),
    "groups_do_not_divide.toml": ("layer 0 (Conv2D)", "groups", ("divisible",)),
    "strides_with_dilation.toml": ("layer 0 (Conv2D)", "dilation_rate", ("strides", "dilation_rate")),
    "bad_activation.toml": ("layer 0 (Dense)", "activation", ("expected an activation name", 'found "rectifier" (a string)')),
    "dropout_rate_too_large.toml": ("layer 0 (Dropout)", "rate", ("expected a number in [0, 1]", "found 1.5")),
    "name_not_string.toml": (None, "name", ("expected a string", "found 5")),
    "string_with_newline.toml": ("layer 0 (Dense)", "activation", ("expected an activation name",)),
    "type_with_newline.toml": ("layer 0", "type", ("unknown layer type",)),
    "not_utf8.toml": (None, None, ("not UTF-8",)),
    "utf16.toml": (None, None, ("not UTF-8",)),
}


def run_summary(path: Path):
    import subprocess

    return subprocess.run(
        [sys.executable, "-m", "convtui", "summary", str(path)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        cwd=path.parent,
        timeout=60,
    )


@pytest.fixture(scope="module")
def corpus_results():
    """Every bad file through the CLI once, a few at a time."""
    paths = sorted(BAD.glob("*.toml"))
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip((path.name for path in paths), pool.map(run_summary, paths)))


def test_the_corpus_and_its_expectations_match():
    assert sorted(path.name for path in BAD.glob("*.toml")) == sorted(CORPUS)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_bad_preset_exits_2_with_one_located_line(corpus_results, name):
    result = corpus_results[name]
    where, field, phrases = CORPUS[name]
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and result.stderr.endswith("\n"), result.stderr
    line = lines[0]
    assert line.startswith("convtui: error: ")
    assert str(BAD / name) in line
    if where is not None:
        assert f"{BAD / name}: {where}: " in line or f"{BAD / name}: {where} " in line
    else:
        assert ": layer " not in line
    if field is not None:
        assert f"field '{field}'" in line
    for phrase in phrases:
        assert phrase in line


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_bad_preset_raises_a_located_preset_error_in_process(name):
    with pytest.raises(PresetError) as caught:
        load_preset(BAD / name)
    error = caught.value
    assert error.file == str(BAD / name)
    where, field, _ = CORPUS[name]
    assert error.field_name == field
    if where is not None:
        assert error.layer_index == int(where.split()[1])
    else:
        assert error.layer_index is None


# --- saving ---------------------------------------------------------------------------------


def sample_stack(name: str = "sample") -> Stack:
    return Stack(
        (32, 32, 3),
        (
            ZeroPadding2D(padding=[[0, 1], [0, 1]]),
            Conv2D(filters=16, kernel_size=3, strides=2, use_bias=False),
            BatchNormalization(momentum=0.9),
            MaxPooling2D(pool_size=2, padding="same"),
            Flatten(),
            Dense(units=10, activation="softmax"),
        ),
        name=name,
        description="a small stack with ünïcode and \"quotes\"",
    )


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.endswith(".tmp") or path.name.startswith("."))


def test_save_then_load_gives_the_same_stack(tmp_path):
    (tmp_path / "nested").mkdir()
    path = save_preset(sample_stack(), tmp_path / "nested" / "sample.toml")
    assert path == tmp_path / "nested" / "sample.toml"
    assert load_preset(path) == sample_stack()
    assert load_preset(str(path)) == sample_stack()
    assert leftovers(path.parent) == []


def test_saving_into_a_missing_folder_is_an_error_that_creates_nothing(tmp_path):
    with pytest.raises(PresetError, match="does not exist") as caught:
        save_preset(sample_stack(), tmp_path / "typo" / "sample.toml")
    assert caught.value.file == str(tmp_path / "typo" / "sample.toml")
    assert not (tmp_path / "typo").exists()


def test_save_over_an_existing_file_replaces_it(tmp_path):
    path = tmp_path / "sample.toml"
    save_preset(sample_stack("first"), path)
    save_preset(sample_stack("second"), path)
    assert load_preset(path).name == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sample.toml"]


def test_save_over_an_existing_file_keeps_its_permissions(tmp_path):
    path = tmp_path / "shared.toml"
    path.write_text(preset_text(sample_stack("old")), encoding="utf-8")
    path.chmod(0o644)
    save_preset(sample_stack("new"), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_a_new_file_gets_the_permissions_of_an_ordinary_write(tmp_path):
    umask = os.umask(0o022)
    try:
        save_preset(sample_stack(), tmp_path / "new.toml")
        (tmp_path / "plain.txt").write_text("x")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "new.toml").stat().st_mode) == stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode)


def failing(*_args, **_kwargs):
    raise PermissionError(13, "Permission denied")


@pytest.mark.parametrize(
    ("target", "attribute"),
    [(os, "replace"), (os, "fsync"), (tempfile, "mkstemp")],
    ids=["rename fails", "write fails", "read-only folder"],
)
def test_a_failed_save_leaves_the_old_file_intact_and_no_temporary_file(tmp_path, monkeypatch, target, attribute):
    path = tmp_path / "sample.toml"
    save_preset(sample_stack("old"), path)
    before = path.read_bytes()
    monkeypatch.setattr(target, attribute, failing)
    with pytest.raises(PresetError) as caught:
        save_preset(sample_stack("new"), path)
    monkeypatch.undo()
    assert caught.value.file == str(path)
    assert "Permission denied" in str(caught.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sample.toml"]


def test_save_into_a_read_only_folder_is_a_preset_error(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    save_preset(sample_stack("old"), folder / "sample.toml")
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):  # root writes anywhere: the folder is read-only for others only
            save_preset(sample_stack("new"), folder / "sample.toml")
            assert load_preset(folder / "sample.toml").name == "new"
        else:
            with pytest.raises(PresetError):
                save_preset(sample_stack("new"), folder / "sample.toml")
            assert load_preset(folder / "sample.toml").name == "old"
        assert sorted(p.name for p in folder.iterdir()) == ["sample.toml"]
    finally:
        folder.chmod(0o755)


def test_save_where_the_folder_is_a_file_is_a_preset_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(PresetError) as caught:
        save_preset(sample_stack(), blocker / "sample.toml")
    assert "cannot be written" in caught.value.message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_save_over_a_folder_is_a_preset_error_and_leaves_nothing(tmp_path):
    (tmp_path / "sample.toml").mkdir()
    with pytest.raises(PresetError):
        save_preset(sample_stack(), tmp_path / "sample.toml")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sample.toml"]


def test_round_trip_of_a_name_with_a_control_character():
    # TOML basic strings may not hold U+007F raw; it must be written as an escape.
    stack = Stack((8, 8, 1), (), name="rubout \x7f here", description="bell \x07 too")
    assert parse_preset(preset_text(stack), "x") == stack


# --- built-in presets and loading -----------------------------------------------------------


def test_builtin_names_are_the_toml_files_of_the_presets_folder():
    names = builtin_preset_names()
    assert names == sorted(path.stem for path in PRESETS.glob("*.toml"))
    assert names == sorted(set(names))


def test_the_seed_presets_are_built_in():
    assert {"seed-28x28x1", "seed-28x28x3-5x5"} <= set(builtin_preset_names())


@pytest.mark.parametrize("name", builtin_preset_names())
def test_builtin_preset_loads_by_name_and_by_path_and_round_trips(name):
    by_name = load_preset(name)
    by_path = load_preset(PRESETS / f"{name}.toml")
    assert by_name == by_path
    assert by_name.infer().valid, by_name.infer().first_invalid
    assert parse_preset(preset_text(by_name), "x") == by_name


def test_seed_presets_have_the_documented_figures():
    # 3*3*1*32 + 32 and 3*3*32*64 + 64; without bias 5*5*3*32 and 5*5*32*64
    assert [layer.params for layer in load_preset("seed-28x28x1").infer().layers] == [320, 18_496]
    assert load_preset("seed-28x28x1").infer().layers[1].output_shape == (24, 24, 64)
    assert [layer.params for layer in load_preset("seed-28x28x3-5x5").infer().layers] == [2_400, 51_200]


def test_a_file_in_the_working_folder_wins_over_a_builtin_of_the_same_name(tmp_path, monkeypatch):
    name = builtin_preset_names()[0]
    save_preset(sample_stack("local"), tmp_path / name)
    monkeypatch.chdir(tmp_path)
    assert load_preset(name).name == "local"


def test_loading_a_relative_path(tmp_path, monkeypatch):
    save_preset(sample_stack("relative"), tmp_path / "here.toml")
    monkeypatch.chdir(tmp_path)
    assert load_preset("here.toml").name == "relative"
    assert load_preset(Path("here.toml")).name == "relative"


@pytest.mark.parametrize("source", ["no-such-preset", "missing/file.toml"])
def test_a_missing_preset_is_a_preset_error_pointing_to_the_list(source, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PresetError) as caught:
        load_preset(source)
    assert caught.value.file == source
    assert "convtui presets" in caught.value.message


def test_a_misspelt_builtin_name_gets_a_suggestion(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PresetError) as caught:
        load_preset("seed-28x28x")
    assert 'did you mean the built-in "seed-28x28x1"' in caught.value.message


@pytest.mark.parametrize("typed", ["VGG16", "Vgg16", "vgg61"])
def test_a_builtin_name_in_another_case_gets_a_suggestion(typed, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PresetError) as caught:
        load_preset(typed)
    assert 'did you mean the built-in "vgg16"' in caught.value.message


def test_a_folder_is_not_a_preset(tmp_path):
    with pytest.raises(PresetError) as caught:
        load_preset(tmp_path)
    assert "folder" in caught.value.message


def test_preset_errors_are_convtui_errors_with_exit_code_2():
    assert issubclass(PresetError, ConvtuiError)
    assert PresetError("x").exit_code == 2


def test_parse_preset_names_the_file_it_was_given():
    with pytest.raises(PresetError) as caught:
        parse_preset("input_shape = [28, 28, 1]\n[[layers]]\ntype = 'Dense'\n", "from-the-app")
    assert (caught.value.file, caught.value.layer_index, caught.value.layer_type, caught.value.field_name) == (
        "from-the-app", 0, "Dense", "units"
    )  # fmt: skip
    assert str(caught.value).startswith("from-the-app: layer 0 (Dense): field 'units': ")


def test_preset_module_lists_its_top_level_keys():
    text = preset_text(sample_stack())
    assert text.startswith('name = "sample"\n')
    assert set(preset_module.TOP_LEVEL_KEYS) == {"name", "description", "input_shape", "weights", "seed", "outputs", "layers"}
