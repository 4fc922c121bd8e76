"""Worked formulas: the issue's exact strings for the seed net, "same" and stride formulas, PyTorch layouts,
and every arithmetic formula evaluates to the figure it claims (and that figure is the layer's own)."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convtui.model import Stack, builtin_preset_names, load_preset
from convtui.model.explain import Formula, explain
from convtui.model.layers import (
    Activation,
    Add,
    AveragePooling2D,
    BatchNormalization,
    Concatenate,
    Conv2D,
    Conv2DTranspose,
    Cropping2D,
    Dense,
    DepthwiseConv2D,
    Dropout,
    Flatten,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    Identity,
    LayerNormalization,
    LayerScale,
    MaxPooling2D,
    Multiply,
    Normalization,
    ReLU,
    Rescaling,
    Reshape,
    SeparableConv2D,
    UpSampling2D,
    ZeroPadding2D,
)


def seed_stack() -> Stack:
    """The README's seed: input 28x28x1, Conv2D(32, 3x3, relu), Conv2D(64, 3x3, relu)."""
    return Stack(
        (28, 28, 1),
        (Conv2D(filters=32, kernel_size=3, activation="relu"), Conv2D(filters=64, kernel_size=[3, 3], activation="relu")),
        name="seed-28x28x1",
    )


def by_quantity(formulas: list[Formula]) -> dict[str, Formula]:
    found: dict[str, Formula] = {}
    for formula in formulas:
        found.setdefault(formula.quantity, formula)
    return found


def all_text(formulas: list[Formula]) -> str:
    return "\n".join(f"{f.quantity}: {f.formula} ({f.reason})" for f in formulas)


# --- the seed net: the issue's strings ------------------------------------------------------


def test_seed_first_layer_out_h_is_the_issue_formula():
    formulas = by_quantity(explain(seed_stack().infer(), 0))
    assert formulas["out H"].formula == "floor((28 + 0 - 1*(3-1) - 1) / 1) + 1 = 26"
    assert formulas["out W"].formula == "floor((28 + 0 - 1*(3-1) - 1) / 1) + 1 = 26"


def test_seed_second_layer_params_and_why_64_channels():
    formulas = explain(seed_stack().infer(), 1)
    quantities = by_quantity(formulas)
    assert quantities["params"].formula == "3*3*32*64 + 64 = 18,496"
    assert f"{quantities['params'].quantity} = {quantities['params'].formula}" == "params = 3*3*32*64 + 64 = 18,496"
    assert "each of the 64 filters is 3x3x32 and sums over all 32 input channels" in all_text(formulas)
    assert quantities["kernel"].formula.endswith("= (3, 3, 32, 64)")
    assert quantities["output shape"].formula == "(26, 26, 32) -> (24, 24, 64)"


def test_the_builtin_seed_preset_explains_the_same():
    assert "seed-28x28x1" in builtin_preset_names()
    assert explain(load_preset("seed-28x28x1").infer(), 1) == explain(seed_stack().infer(), 1)


# --- "same", stride, dilation, pooling, transpose -------------------------------------------


def test_same_padding_formula_is_ceil_and_says_where_the_odd_pixel_goes():
    stack = Stack((8, 7, 3), (Conv2D(filters=4, kernel_size=3, strides=2, padding="same"),))
    formulas = by_quantity(explain(stack.infer(), 0))
    # ceil(8/2) = 4; total pad = (4-1)*2 + 3 - 8 = 1 -> 0 before, 1 after (TensorFlow)
    assert formulas["out H"].formula == "ceil(8 / 2) = 4"
    assert "0 before and 1 after" in formulas["out H"].reason
    # ceil(7/2) = 4; total pad = (4-1)*2 + 3 - 7 = 2 -> 1 and 1
    assert formulas["out W"].formula == "ceil(7 / 2) = 4"
    assert "1 before and 1 after" in formulas["out W"].reason


def test_stride_formula():
    stack = Stack((28, 28, 3), (Conv2D(filters=8, kernel_size=3, strides=2),))
    # floor((28 - 2 - 1)/2) + 1 = 13
    assert by_quantity(explain(stack.infer(), 0))["out H"].formula == "floor((28 + 0 - 1*(3-1) - 1) / 2) + 1 = 13"


def test_dilation_and_explicit_padding_formula():
    stack = Stack((10, 10, 3), (Conv2D(filters=8, kernel_size=3, dilation_rate=2, padding=1),))
    # floor((10 + 2 - 2*(3-1) - 1)/1) + 1 = 8
    assert by_quantity(explain(stack.infer(), 0))["out H"].formula == "floor((10 + 2 - 2*(3-1) - 1) / 1) + 1 = 8"


def test_pooling_formula():
    stack = Stack((26, 26, 32), (MaxPooling2D(pool_size=2),))
    # compute_pooling_output_shape: floor((26 - 2)/2) + 1 = 13
    assert by_quantity(explain(stack.infer(), 0))["out H"].formula == "floor((26 + 0 - 2) / 2) + 1 = 13"


def test_transpose_formulas():
    valid = by_quantity(explain(Stack((7, 7, 8), (Conv2DTranspose(filters=4, kernel_size=3, strides=2),)).infer(), 0))
    assert valid["out H"].formula == "7 * 2 + max(3 - 2, 0) = 15"
    same = by_quantity(explain(Stack((7, 7, 8), (Conv2DTranspose(filters=4, kernel_size=3, strides=2, padding="same"),)).infer(), 0))
    assert same["out H"].formula == "7 * 2 = 14"
    assert valid["kernel"].formula == "(kh, kw, filters, C_in) = (3, 3, 4, 8)"
    assert valid["MACs"].formula == "7*7 input pixels * 3*3*4*8 = 14,112"


# --- conventions ----------------------------------------------------------------------------


def test_torch_convention_shows_oihw_kernels_and_chw_shapes():
    formulas = by_quantity(explain(seed_stack().infer(), 1, "torch"))
    assert formulas["weight"].formula == "(filters, C_in/groups, kh, kw) = (64, 32, 3, 3)"
    assert formulas["bias"].formula.endswith("(64,)")
    assert formulas["output shape"].formula == "(32, 26, 26) -> (64, 24, 24)"
    assert "kernel" not in formulas


@pytest.mark.parametrize(
    ("layer", "input_shape", "keras", "torch"),
    [
        (DepthwiseConv2D(kernel_size=3, depth_multiplier=2), (9, 9, 8), ("kernel", (3, 3, 8, 2)), ("weight", (16, 1, 3, 3))),
        (SeparableConv2D(filters=16, kernel_size=3), (9, 9, 8), ("pointwise_kernel", (1, 1, 8, 16)), ("pointwise.weight", (16, 8, 1, 1))),
        (Conv2DTranspose(filters=4, kernel_size=3), (9, 9, 8), ("kernel", (3, 3, 4, 8)), ("weight", (8, 4, 3, 3))),
        (Conv2D(filters=16, kernel_size=5, groups=4), (9, 9, 8), ("kernel", (5, 5, 2, 16)), ("weight", (16, 2, 5, 5))),
        (Dense(units=10), (4, 4, 8), ("kernel", (8, 10)), ("weight", (10, 8))),
    ],
)
def test_weight_layouts_in_both_conventions(layer, input_shape, keras, torch):
    info = Stack(input_shape, (layer,)).infer()
    keras_formulas = by_quantity(explain(info, 0, "keras"))
    torch_formulas = by_quantity(explain(info, 0, "torch"))
    assert keras_formulas[keras[0]].formula.endswith(f"= {keras[1]}")
    assert torch_formulas[torch[0]].formula.endswith(f"= {torch[1]}")


def test_batch_normalization_statistics_are_explained_as_non_trainable():
    info = Stack((5, 5, 6), (BatchNormalization(),)).infer()
    formulas = by_quantity(explain(info, 0))
    assert "non-trainable" in formulas["moving_mean"].reason and "non-trainable" in formulas["moving_variance"].reason
    assert formulas["gamma"].reason == ""
    assert formulas["params"].formula == "6 + 6 + 6 + 6 = 24"
    assert "trainable 12, non-trainable 12" in formulas["params"].reason
    torch = by_quantity(explain(info, 0, "torch"))
    assert {"weight", "bias", "running_mean", "running_var"} <= set(torch)


def test_a_grouped_convolution_says_its_filters_span_their_group_only():
    stack = Stack((8, 8, 6), (Conv2D(filters=6, kernel_size=3, groups=3), Conv2D(filters=4, kernel_size=3)))
    grouped, plain = (explain(stack.infer(), index)[0].formula for index in (0, 1))
    assert grouped == "2-D convolution in 3 groups: each filter spans the 2 input channels of its group and sums over them"
    assert plain == Conv2D.description and "all input channels" in plain


def test_an_invalid_layer_explains_its_error():
    info = Stack((2, 2, 1), (Conv2D(filters=1, kernel_size=3), Dense(units=2))).infer()
    assert [f.quantity for f in explain(info, 0)] == ["error"]
    assert "3x3" in explain(info, 0)[0].formula
    assert "follows an invalid layer" in explain(info, 1)[0].formula


# --- every arithmetic formula is right, and is the layer's own figure -----------------------

WORDS = re.compile(r"\b(input pixels|positions|position)\b")
THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
ARITHMETIC = re.compile(r"^[\d\s+\-*/().,a-z]*$")


def evaluate(formula: str) -> tuple[float, float] | None:
    """(value of the left side, the number on the right) of 'arithmetic = number ...', or None."""
    if " = " not in formula:
        return None
    left, right = formula.rsplit(" = ", 1)
    left = THOUSANDS.sub("", WORDS.sub("", left))
    if not ARITHMETIC.match(left) or not re.search(r"\d", left) or re.search(r"[a-z]{2,}", left.replace("floor", "").replace("ceil", "").replace("max", "")):
        return None
    stated = re.match(r"[\d,]+(\.\d+)?", right)
    assert stated, formula
    value = eval(left, {"__builtins__": {}, "floor": math.floor, "ceil": math.ceil, "max": max})  # noqa: S307
    number = stated.group().replace(",", "")
    return value, float(number) if "." in number else int(number)


CATALOGUE_STACK = Stack(
    (32, 30, 3),
    (
        ZeroPadding2D(padding=[[1, 2], [0, 3]]),
        Conv2D(filters=8, kernel_size=[5, 3], strides=[2, 1], padding="same"),
        BatchNormalization(),
        ReLU(max_value=6),
        DepthwiseConv2D(kernel_size=3, depth_multiplier=2, dilation_rate=2),
        SeparableConv2D(filters=12, kernel_size=3, padding=1, strides=2),
        MaxPooling2D(pool_size=3, strides=1, padding="same"),
        AveragePooling2D(pool_size=2),
        Conv2DTranspose(filters=6, kernel_size=4, strides=2),
        UpSampling2D(size=[2, 1]),
        Conv2D(filters=6, kernel_size=1, groups=3, use_bias=False),
        Dense(units=5),
        Activation(activation="tanh"),
        Dropout(rate=0.2),
        GlobalMaxPooling2D(keepdims=True),
        Flatten(),
        Dense(units=3, activation="softmax"),
    ),
)
OTHER_STACK = Stack((9, 9, 4), (GlobalAveragePooling2D(), Dense(units=7)))


@pytest.mark.parametrize("stack", [CATALOGUE_STACK, OTHER_STACK, seed_stack()], ids=["catalogue", "global", "seed"])
@pytest.mark.parametrize("convention", ["keras", "torch"])
def test_every_arithmetic_formula_evaluates_to_the_figure_it_states(stack, convention):
    stack_info = stack.infer()
    assert stack_info.valid, stack_info.first_invalid
    checked = 0
    for index, info in enumerate(stack_info.layers):
        for formula in explain(stack_info, index, convention):
            result = evaluate(formula.formula)
            if result is None:
                continue
            value, stated = result
            assert value == stated, (index, formula)
            checked += 1
            actual = {
                "out H": info.output_shape[0],
                "out W": info.output_shape[1] if len(info.output_shape) == 3 else None,
                "params": info.params,
                "MACs": info.macs,
                "out": info.output_shape[-1],
                "out C": info.output_shape[-1],
                "receptive field": info.receptive_field.size[0] if info.receptive_field and not info.receptive_field.is_global else None,
            }.get(formula.quantity)
            if actual is not None:
                assert stated == actual, (index, formula)
    assert checked >= 2 * len(stack_info.layers) - 4


def test_formulas_come_in_reading_order():
    quantities = [f.quantity for f in explain(seed_stack().infer(), 1)]
    assert quantities[:5] == ["does", "out H", "out W", "out C", "output shape"]
    assert quantities.index("params") < quantities.index("MACs") < quantities.index("receptive field")


# --- the same, on random valid stacks -------------------------------------------------------


@st.composite
def random_layers(draw):
    kind = draw(st.sampled_from(["conv", "depthwise", "separable", "transpose", "pool", "avg", "zero", "up", "bn", "dense"]))
    k = draw(st.integers(1, 4))
    s = draw(st.integers(1, 3))
    d = draw(st.integers(1, 2)) if s == 1 else 1
    padding = draw(st.sampled_from(["valid", "same", 1]))
    window_padding = padding if isinstance(padding, str) else "same"
    return {
        "conv": lambda: Conv2D(filters=draw(st.integers(1, 6)), kernel_size=[k, draw(st.integers(1, 4))], strides=s, dilation_rate=d, padding=padding),
        "depthwise": lambda: DepthwiseConv2D(kernel_size=k, strides=[s, 1], padding=padding, depth_multiplier=draw(st.integers(1, 2))),
        "separable": lambda: SeparableConv2D(filters=3, kernel_size=k, dilation_rate=d, strides=s, padding=padding),
        "transpose": lambda: Conv2DTranspose(filters=2, kernel_size=k, strides=s, padding=window_padding),
        "pool": lambda: MaxPooling2D(pool_size=k, strides=s, padding=window_padding),
        "avg": lambda: AveragePooling2D(pool_size=[k, 1], padding=window_padding),
        "zero": lambda: ZeroPadding2D(padding=[[k, 0], [0, s]]),
        "up": lambda: UpSampling2D(size=[s, k]),
        "bn": lambda: BatchNormalization(),
        "dense": lambda: Dense(units=draw(st.integers(1, 5))),
    }[kind]()


@settings(max_examples=120, deadline=None)
@given(layers=st.lists(random_layers(), min_size=1, max_size=5), side=st.integers(6, 30), channels=st.integers(1, 4))
def test_random_stacks_formulas_evaluate_to_the_figures_they_state(layers, side, channels):
    stack_info = Stack((side, side + 1, channels), tuple(layers)).infer()
    for index, info in enumerate(stack_info.layers):
        if info.status != "ok":
            continue
        for convention in ("keras", "torch"):
            for formula in explain(stack_info, index, convention):
                result = evaluate(formula.formula)
                if result is None:
                    continue
                value, stated = result
                if isinstance(stated, float) or "." in formula.formula.split(" = ")[0]:
                    assert math.isclose(value, stated, rel_tol=1e-2), (index, formula)  # shown to 3 figures
                else:
                    assert value == stated, (index, formula)
                if formula.quantity == "params":
                    assert stated == info.params
                if formula.quantity == "MACs":
                    assert stated == info.macs
                if formula.quantity in ("out H", "out W") and len(info.output_shape) == 3:
                    assert stated == info.output_shape["HW".index(formula.quantity[-1])]


# --- graphs: merges, named inputs, the widest path ------------------------------------------

RESIDUAL = Stack(
    (56, 56, 64),
    (
        Conv2D(filters=64, kernel_size=1),
        Conv2D(filters=64, kernel_size=3, padding="same"),
        Conv2D(filters=256, kernel_size=1),
        Conv2D(filters=256, kernel_size=1),
        Add(),
        GlobalAveragePooling2D(keepdims=True),
        Conv2D(filters=256, kernel_size=1, activation="sigmoid"),
        Multiply(),
        Concatenate(),
        Concatenate(axis=1),
    ),
    names=("reduce", "conv3x3", "expand", "shortcut", "add", "squeeze", "excite", "gate", "joined", "stacked"),
    inputs=(None, None, None, ("input",), ("expand", "shortcut"), None, None, ("excite", "add"), ("add", "gate", "reduce"), ("reduce", "conv3x3")),
)


def residual_formulas(name: str, convention: str = "keras") -> dict[str, Formula]:
    stack_info = RESIDUAL.infer()
    return by_quantity(explain(stack_info, stack_info.named(name).index, convention))


def test_add_names_its_inputs_and_is_elementwise_with_no_weights():
    formulas = residual_formulas("add")
    assert formulas["inputs"].formula == "expand (layer 2): (56, 56, 256); shortcut (layer 3): (56, 56, 256)"
    assert formulas["merge"].formula == "(56, 56, 256) + (56, 56, 256), elementwise, no weights"
    assert formulas["output shape"].formula == "(56, 56, 256), (56, 56, 256) -> (56, 56, 256)"
    assert (formulas["params"].formula, formulas["MACs"].formula) == ("0", "0")
    assert "merge only combines its inputs" in formulas["params"].reason
    assert "broadcast" not in formulas and "out C" not in formulas


def test_a_gate_times_a_map_spells_out_the_broadcast():
    formulas = residual_formulas("gate")
    assert formulas["merge"].formula == "(1, 1, 256) * (56, 56, 256), elementwise, no weights"
    assert formulas["broadcast"].formula == "excite: (1, 1, 256) -> (56, 56, 256)"
    assert "repeated over the 56x56 map: each of its 256 values scales every pixel of one channel" in formulas["broadcast"].reason
    assert [f.quantity for f in explain(RESIDUAL.infer(), 7)].count("broadcast") == 1  # the map itself is not broadcast
    assert residual_formulas("gate", "torch")["broadcast"].formula == "excite: (256, 1, 1) -> (256, 56, 56)"


def test_concatenate_adds_up_channels_and_any_other_axis():
    channels = residual_formulas("joined")
    assert channels["out C"].formula == "256 + 256 + 64 = 576 channels"
    assert "joined along axis -1; the other sides, 56x56, are the same in every input" == channels["out C"].reason
    assert channels["output shape"].formula == "(56, 56, 256), (56, 56, 256), (56, 56, 64) -> (56, 56, 576)"
    rows = residual_formulas("stacked")
    assert rows["out H"].formula == "56 + 56 = 112 rows"
    assert rows["out H"].reason == "joined along axis 1; the other sides, 56x64, are the same in every input"
    assert "torch.cat dim=2" in residual_formulas("stacked", "torch")["out H"].reason
    flat = Stack((4, 4, 2), (Flatten(), Dense(units=3), Concatenate()), inputs=(None, None, ("flatten", "dense")))
    assert by_quantity(explain(flat.infer(), 2))["out"].formula == "32 + 3 = 35 values"


def test_an_invalid_add_explains_which_inputs_disagree_and_what_to_change():
    stack = Stack((56, 56, 64), (Conv2D(filters=256, kernel_size=1), Add()), names=("expand", "add"), inputs=(None, ("expand", "input")))
    formulas = explain(stack.infer(), 1)
    assert [f.quantity for f in formulas] == ["error"]
    assert formulas[0].formula == (
        "Add needs equal shapes (or sides of 1 that broadcast): expand gives (56, 56, 256), input gives (56, 56, 64);"
        " put a Conv2D(256, 1x1) after input (on a residual's shortcut: ResNet's projection), or make expand give 64 channels"
    )


def test_a_merge_receptive_field_is_its_widest_input_and_says_which():
    stack_info = RESIDUAL.infer()
    formulas = residual_formulas("add")
    assert stack_info.named("add").receptive_field.size == (3.0, 3.0)
    assert formulas["receptive field"].formula == "3x3, jump 1, through expand, the widest of its 2 inputs (shortcut: 1x1)"
    assert residual_formulas("gate")["receptive field"].formula == "global, through excite, the widest of its 2 inputs (add: 3x3)"


def test_a_layer_not_fed_by_the_layer_above_names_its_input_and_grows_from_that_field():
    formulas = residual_formulas("shortcut")
    assert formulas["input"].formula == "the network's input: (56, 56, 64)"
    assert formulas["input"].reason == "named in its inputs: not the layer above"
    # the field starts from the input's 1x1, not from the 3x3 of expand, the layer above
    assert formulas["receptive field"].formula == "1x1 (unchanged)"
    side = Stack((9, 9, 3), (Conv2D(filters=4, kernel_size=3), Conv2D(filters=4, kernel_size=3), Conv2D(filters=4, kernel_size=3)),
                 inputs=(None, None, ("input",)))
    third = by_quantity(explain(side.infer(), 2))
    assert third["input"].formula == "the network's input: (9, 9, 3)"
    assert third["receptive field"].formula.startswith("1 + (3-1)*1 = 3 input pixels")
    assert "input" not in by_quantity(explain(side.infer(), 1))  # the layer above: nothing to say


def test_dense_on_a_map_acts_on_the_last_axis_and_says_what_usually_comes_first():
    formulas = by_quantity(explain(Stack((12, 12, 16), (Dense(units=64),)).infer(), 0))
    assert formulas["output shape"].formula == "(12, 12, 16) -> (12, 12, 64)"
    reason = formulas["out units"].reason
    assert "Dense acts on the last axis, as in Keras: at each of the 144 positions (12x12)" in reason
    assert "Flatten or GlobalAveragePooling2D usually comes first" in reason
    flat = by_quantity(explain(Stack((12, 12, 16), (Flatten(), Dense(units=64))).infer(), 1))
    assert flat["out units"].reason == "each unit is a weighted sum of all 2,304 inputs"


@pytest.mark.parametrize("convention", ["keras", "torch"])
def test_every_arithmetic_formula_of_a_graph_evaluates_to_the_figure_it_states(convention):
    stack_info = RESIDUAL.infer()
    assert stack_info.valid
    checked = 0
    for index, info in enumerate(stack_info.layers):
        for formula in explain(stack_info, index, convention):
            result = evaluate(formula.formula)
            if result is None:
                continue
            value, stated = result
            assert value == stated, (index, formula)
            if formula.quantity in ("out C", "out H"):
                assert stated == info.output_shape["HWC".index(formula.quantity[-1])], (index, formula)
                checked += 1
    assert checked >= 2 + 5  # the two concatenations, and the five convolutions' heights


# --- preprocessing, normalisation and reshaping layers --------------------------------------

NEW_TYPES_STACK = Stack(
    (28, 28, 3),
    (
        Rescaling(scale=1 / 127.5, offset=-1),
        Normalization(),
        Cropping2D(cropping=[[1, 2], [3, 0]]),
        Conv2D(filters=64, kernel_size=3),
        LayerNormalization(),
        LayerScale(init_values=1e-6, projection_dim=64),
        Identity(),
        Reshape(target_shape=[-1, 64]),
        Normalization(mean=[0.5] * 64, variance=[0.25] * 64),
    ),
)


def new_types_formulas(index: int) -> dict[str, Formula]:
    return by_quantity(explain(NEW_TYPES_STACK.infer(), index))


def test_rescaling_is_written_as_a_person_writes_it_with_the_range_it_gives():
    formulas = new_types_formulas(0)
    assert formulas["value"].formula == "x / 127.5 - 1"
    assert formulas["value"].reason == "pixels 0..255 become -1..1; nothing is learned"
    assert by_quantity(explain(Stack((4, 4, 3), (Rescaling(scale=1 / 255),)).infer(), 0))["value"].formula == "x / 255"


def test_normalization_counts_its_non_trainable_mean_variance_and_count_as_keras_does():
    formulas = new_types_formulas(1)
    assert formulas["value"].formula == "(x - mean) / max(sqrt(variance), 1e-07)"
    assert formulas["params"].formula == "3 + 3 + 1 = 7"
    assert formulas["params"].reason == "trainable 0, non-trainable 7"
    assert "adapt()" in formulas["mean"].reason and "one number" in formulas["count"].reason
    given = new_types_formulas(8)
    assert given["params"].formula == "0" and "are given, so no weights" in given["value"].reason


def test_cropping_removes_each_side():
    formulas = new_types_formulas(2)
    assert formulas["out H"].formula == "28 - 1 - 2 = 25"
    assert formulas["out W"].formula == "28 - 3 - 0 = 25"


def test_layer_normalization_has_2c_parameters_and_normalises_each_pixel_over_its_channels():
    formulas = new_types_formulas(4)
    assert formulas["params"].formula == "64 + 64 = 128"
    assert formulas["params"].reason == "a gamma and a beta for each of the 64 channels (2C)"
    assert formulas["value"].formula == "(x - mean) / sqrt(variance + 0.001) * gamma + beta"
    assert "each pixel's own 64 channels" in formulas["value"].reason
    assert "applies to each value separately" not in all_text(explain(NEW_TYPES_STACK.infer(), 4))


def test_reshape_checks_the_count_and_says_what_minus_one_became():
    formulas = new_types_formulas(7)
    assert formulas["values"].formula == "23*23*64 = 33,856"
    assert formulas["values"].reason == "the target (529, 64) holds 529*64 = 33,856 values too; -1 became 33,856 / 64 = 529"


@pytest.mark.parametrize("convention", ["keras", "torch"])
def test_the_new_types_formulas_evaluate_to_the_figures_they_state(convention):
    stack_info = NEW_TYPES_STACK.infer()
    assert stack_info.valid, stack_info.first_invalid
    for index, info in enumerate(stack_info.layers):
        for formula in explain(stack_info, index, convention):
            result = evaluate(formula.formula)
            if result is not None:
                assert result[0] == result[1], (index, formula)
                if formula.quantity == "params":
                    assert result[1] == info.params


def test_softmax_says_it_works_over_the_last_axis_not_value_by_value():
    formulas = by_quantity(explain(Stack((4, 4, 10), (Activation(activation="softmax"), Activation(activation="relu"))).infer(), 0))
    assert formulas["out"].reason == "softmax over the last axis: each position's 10 values become positive and sum to 1"
    assert by_quantity(explain(Stack((4, 4, 10), (Activation(activation="relu"),)).infer(), 0))["out"].reason == "applies to each value separately"
