"""The layer families load on first use (model/layers/catalogue.py), and the lazy names mean exactly
what the eager ones did: every type in its family, found by name or alias, LAYER_TYPES in order.

The loading itself is checked in fresh interpreters, since this test process has loaded every family.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import pytest

import convtui
from convtui import model
from convtui.model import layers
from convtui.model.layers import FAMILY_OF_TYPE, Layer, layer_class, layer_type_named, type_key
from convtui.model.layers.catalogue import _types_by_key

FAMILIES = ("activation", "convolution", "core", "merging", "normalization", "pooling", "reshaping")


def family_types(family: str) -> set[str]:
    """The concrete layer types a family's module defines (those with a Keras type name)."""
    module = __import__(f"convtui.model.layers.{family}", fromlist=["_"])
    return {
        name
        for name, value in vars(module).items()
        if inspect.isclass(value) and issubclass(value, Layer) and value.__module__ == module.__name__ and value.type_name == name
    }


def test_the_table_names_every_type_of_every_family_in_its_own_family():
    assert {family: family_types(family) for family in FAMILIES} == {
        family: {name for name, home in FAMILY_OF_TYPE.items() if home == family} for family in FAMILIES
    }


def test_layer_types_follow_the_table_and_are_one_tuple_everywhere():
    assert [layer_type.type_name for layer_type in layers.LAYER_TYPES] == list(FAMILY_OF_TYPE)
    assert convtui.LAYER_TYPES is model.LAYER_TYPES is layers.LAYER_TYPES


@pytest.mark.parametrize("key", sorted(_types_by_key()))
def test_every_name_and_alias_finds_the_type_it_found_before(key):
    """The shortcut through the table (names) and the full index (aliases) agree."""
    assert layer_type_named(key) is _types_by_key()[key]


def test_names_and_aliases_are_found_in_any_case_and_spelling():
    assert layer_type_named("conv2d") is layer_class("Conv2D") is layers.Conv2D
    assert layer_type_named("max_pool2d") is layers.MaxPooling2D
    assert layer_type_named("Convolution2D") is layers.Conv2D
    assert type_key("Global_Average_Pooling2D") in _types_by_key()


def test_an_unknown_name_is_a_suggestion_and_the_list_of_types():
    with pytest.raises(convtui.LayerConfigError, match=r'unknown layer type "MaxPooling"; did you mean "MaxPooling2D"\? known types: Conv2D, '):
        layer_type_named("MaxPooling")


def test_an_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="Conv3D"):
        layers.Conv3D  # noqa: B018
    with pytest.raises(AttributeError, match="NOT_A_NAME"):
        model.NOT_A_NAME  # noqa: B018


LOADED = """
import json, sys
{code}
print(json.dumps(sorted(name.rsplit(".", 1)[1] for name in sys.modules if name.startswith("convtui.model.layers."))))
"""


def families_loaded_by(code: str) -> list[str]:
    result = subprocess.run([sys.executable, "-c", LOADED.format(code=code)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_importing_convtui_loads_no_family():
    assert families_loaded_by("import convtui, convtui.model.layers") == ["base", "catalogue"]


def test_a_stack_loads_the_families_of_its_types_only():
    code = "from convtui import load_preset\nload_preset('seed-28x28x1').infer()"
    assert families_loaded_by(code) == ["base", "catalogue", "convolution"]


def test_asking_for_layer_types_loads_every_family():
    assert families_loaded_by("import convtui\nconvtui.LAYER_TYPES") == sorted(("base", "catalogue", *FAMILIES))
