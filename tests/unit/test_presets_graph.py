"""The branching built-in presets (issue 9, point 6) reproduce their reference networks.

resnet50 and mobilenet-v2 are compared with keras.applications built here (weights=None) layer by
layer: name, type, inputs, output shape, weights and trainable / non-trainable counts. resnet18
is compared with torchvision's ResNet-18 written out below from torch.nn (torchvision is not a
dependency): parameter count, every module's output shape and, on the same weights, the logits.
The small presets are compared with Keras Functional models written out here by hand.
"""

from __future__ import annotations

import math
import re
import tomllib
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from convtui import Stack, load_preset
from convtui.engine import forward
from convtui.engine.forward import DEFAULT_MAX_MEMORY, check_memory, estimate_memory
from convtui.model import parse_preset, preset_text
from convtui.model.info import StackInfo

PRESETS_FOLDER = Path(__file__).resolve().parents[2] / "presets"

# name: (total, trainable, non-trainable), written out from the reference, not from convtui.
PUBLISHED_TOTALS = {
    # keras.applications.ResNet50().summary(): Total params: 25,636,712; Non-trainable params: 53,120
    "resnet50": (25_636_712, 25_583_592, 53_120),
    # torchvision.models.resnet18(): sum(p.numel() for p in model.parameters()) == 11,689,512, all
    # trainable; its 20 BatchNorm2d's running_mean and running_var (2 * 4,800 channels) are buffers,
    # which Keras and convtui count as non-trainable weights.
    "resnet18": (11_689_512 + 9_600, 11_689_512, 9_600),
    # keras.applications.MobileNetV2().summary(): Total params: 3,538,984; Non-trainable: 34,112
    "mobilenet-v2": (3_538_984, 3_504_872, 34_112),
    # 3*3*1*16+16 + 3*3*16*16+16 + 3*3*16*32+32 + 3*3*32*32+32 + 3*3*32*64+64 + 3*3*64*64+64
    # + 3*3*64*128+128 + 3*3*128*128+128 + (2*2*128*64+64 + 3*3*128*64+64 + 3*3*64*64+64)
    # + (2*2*64*32+32 + 3*3*64*32+32 + 3*3*32*32+32) + (2*2*32*16+16 + 3*3*32*16+16 + 3*3*16*16+16) + 16+1
    "unet-small": (481_745, 481_745, 0),
    # 192*64+64 + 192*96+96 + 9*96*128+128 + 192*16+16 + 25*16*32+32 + 192*32+32 (GoogLeNet Table 1: "159K")
    "inception-module": (163_696, 163_696, 0),
    # 3*3*3*64+64 + 64*16+16 + 16*64+64
    "se-block": (3_920, 3_920, 0),
    # the seed's 320 + 18,496, and the projection's 1*1*32*64 + 64 = 2,112
    "residual-demo": (20_928, 20_928, 0),
}




@pytest.fixture(scope="module")
def torch() -> ModuleType:
    return pytest.importorskip("torch")


def info_of(name: str) -> StackInfo:
    info = load_preset(name).infer()
    assert info.valid, info.first_invalid
    return info


# --- totals and files -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PUBLISHED_TOTALS))
def test_totals_equal_the_published_figures(name: str) -> None:
    info = info_of(name)
    assert (info.total_params, info.trainable_params, info.non_trainable_params) == PUBLISHED_TOTALS[name]
    assert info.unused == ()


@pytest.mark.parametrize("name", sorted(PUBLISHED_TOTALS))
def test_the_file_names_its_preset_describes_it_and_round_trips(name: str) -> None:
    text = (PRESETS_FOLDER / f"{name}.toml").read_text(encoding="utf-8")
    stack = parse_preset(text, f"{name}.toml")
    assert stack.name == name
    assert len(stack.description) > 80
    assert "weights" not in tomllib.loads(text)  # no .npz: the weights come from the seed
    again = parse_preset(preset_text(stack), "again.toml")
    assert again == stack
    assert (again.names, again.inputs, again.blocks) == (stack.names, stack.inputs, stack.blocks)


@pytest.mark.parametrize("name", sorted(PUBLISHED_TOTALS))
def test_the_file_writes_only_what_differs_from_the_defaults(name: str) -> None:
    """No inputs = [the layer above], no argument at its Keras default: what saving would write."""
    tables = tomllib.loads((PRESETS_FOLDER / f"{name}.toml").read_text(encoding="utf-8"))["layers"]
    stack = load_preset(name)
    for index, (table, node) in enumerate(zip(tables, stack.nodes)):
        above = stack.names[index - 1] if index else "input"
        assert table.get("inputs") != [above], node.name
        arguments = set(table) - {"type", "name", "inputs", "block"}
        assert arguments == set(node.layer.changed_arguments()), node.name
    assert len(re.findall(r"^inputs = ", preset_text(stack), re.MULTILINE)) == sum("inputs" in table for table in tables)


def test_every_layer_of_a_block_is_labelled() -> None:
    expected_blocks = {
        "resnet50": ["conv1", "pool1"] + [f"conv{stage}_block{n}" for stage, count in ((2, 3), (3, 4), (4, 6), (5, 3)) for n in range(1, count + 1)],
        "resnet18": ["stem"] + [f"layer{stage}_{n}" for stage in (1, 2, 3, 4) for n in (0, 1)],
        "mobilenet-v2": ["Conv1", "expanded_conv"] + [f"block_{n}" for n in range(1, 17)] + ["Conv_1"],
        "unet-small": ["enc1", "enc2", "enc3", "bottleneck", "dec3", "dec2", "dec1"],
        "inception-module": ["inception_3a"],
        "se-block": ["se"],
        "residual-demo": ["residual"],
    }
    for name, blocks in expected_blocks.items():
        stack = load_preset(name)
        assert list(dict.fromkeys(block for block in stack.blocks if block)) == blocks, name
        for layer_name, block in zip(stack.names, stack.blocks):
            if block and block not in ("stem", "residual", "Conv1", "Conv_1"):
                assert layer_name.startswith(block.replace("expanded_conv", "expanded_conv_")), (name, layer_name, block)
    # every layer of a Keras block carries it; only the top (pooling, classifier) has none
    unlabelled = {
        name: [layer for layer, block in zip(load_preset(name).names, load_preset(name).blocks) if block is None]
        for name in ("resnet50", "resnet18", "mobilenet-v2")
    }
    assert unlabelled == {
        "resnet50": ["avg_pool", "predictions"],
        "resnet18": ["avgpool", "fc"],
        "mobilenet-v2": ["global_average_pooling2d", "predictions"],
    }


# --- keras.applications, layer by layer -------------------------------------------------------


def keras_rows(keras: ModuleType, model: object) -> dict[str, tuple]:
    """Per layer: type, inputs, output shape, weights (name, shape, trainable), trainable and non-trainable counts."""
    input_name = model.layers[0].name  # type: ignore[attr-defined]
    rows = {}
    for layer in model.layers[1:]:  # type: ignore[attr-defined]
        tensors = layer.input if isinstance(layer.input, list) else [layer.input]
        inputs = tuple(
            "input" if tensor._keras_history.operation.name == input_name else tensor._keras_history.operation.name
            for tensor in tensors
        )
        weights = tuple((weight.name, tuple(weight.shape), weight.trainable) for weight in layer.weights)
        trainable = sum(math.prod(weight.shape) for weight in layer.trainable_weights)
        non_trainable = sum(math.prod(weight.shape) for weight in layer.non_trainable_weights)
        rows[layer.name] = (type(layer).__name__, inputs, tuple(layer.output.shape[1:]), weights, trainable, non_trainable)
    return rows


def keras_macs(layer: object) -> int:
    """Multiply-accumulates from Keras's shapes: output pixels times the kernel's taps (no bias)."""
    kind = type(layer).__name__
    config = layer.get_config()  # type: ignore[attr-defined]
    if kind not in ("Conv2D", "DepthwiseConv2D", "Dense"):
        return 0
    output = tuple(layer.output.shape[1:])  # type: ignore[attr-defined]
    inputs = tuple(layer.input.shape[1:])  # type: ignore[attr-defined]
    if kind == "Conv2D":
        return math.prod(output) * math.prod(config["kernel_size"]) * inputs[-1] // config["groups"]
    if kind == "DepthwiseConv2D":
        return math.prod(output) * math.prod(config["kernel_size"])
    return inputs[-1] * config["units"]


def convtui_rows(info: StackInfo) -> dict[str, tuple]:
    return {
        layer.name: (
            layer.layer.type_name,
            tuple(layer.inputs),
            tuple(layer.output_shape),
            tuple((weight.name, weight.shape, weight.trainable) for weight in layer.weights),
            layer.trainable_params,
            layer.non_trainable_params,
        )
        for layer in info.layers
    }


def assert_same_layers(expected: dict[str, tuple], actual: dict[str, tuple]) -> None:
    assert sorted(actual) == sorted(expected)
    for name, row in expected.items():
        assert actual[name] == row, name


@pytest.mark.parametrize(
    ("name", "application", "layer_count"),
    [("resnet50", "ResNet50", 176), ("mobilenet-v2", "MobileNetV2", 155)],
)
def test_keras_application_layer_by_layer(keras: ModuleType, name: str, application: str, layer_count: int) -> None:
    keras.backend.clear_session()  # automatic names (global_average_pooling2d) restart from scratch
    model = getattr(keras.applications, application)(weights=None)
    info = info_of(name)
    expected = keras_rows(keras, model)
    assert len(expected) == len(info.layers) == layer_count
    assert_same_layers(expected, convtui_rows(info))
    assert (info.total_params, info.non_trainable_params) == (
        model.count_params(),
        sum(math.prod(weight.shape) for weight in model.non_trainable_weights),
    )
    assert sum(len(layer.weights) for layer in info.layers) == len(model.weights)
    assert {layer.name: layer.macs for layer in info.layers} == {layer.name: keras_macs(layer) for layer in model.layers[1:]}
    # the file lists Keras's layers in a topological order of its own; Keras's BatchNormalization
    # and convolution arguments are the same
    by_name = {layer.name: layer for layer in model.layers}
    for node in load_preset(name).nodes:
        config = by_name[node.name].get_config()
        for key in ("epsilon", "momentum", "strides", "padding", "use_bias", "max_value", "kernel_size"):
            if key in config and hasattr(node.layer, key):
                mine = getattr(node.layer, key)
                theirs = config[key]
                theirs = tuple(theirs) if isinstance(theirs, list) else theirs
                if key == "padding" and node.layer.type_name == "ZeroPadding2D":
                    theirs = tuple(tuple(pair) for pair in config[key])
                assert mine == theirs or (mine is None and theirs is None), (node.name, key, mine, theirs)


def test_resnet50_keeps_keras_names_and_strides() -> None:
    stack = load_preset("resnet50")
    assert stack.names[:6] == ("conv1_pad", "conv1_conv", "conv1_bn", "conv1_relu", "pool1_pad", "pool1_pool")
    assert stack.names[-2:] == ("avg_pool", "predictions")
    info = stack.infer()
    adds = [layer for layer in info.layers if layer.layer.type_name == "Add"]
    assert len(adds) == 16
    assert [layer.output_shape for layer in adds if layer.name.endswith("block1_add")] == [
        (56, 56, 256), (28, 28, 512), (14, 14, 1024), (7, 7, 2048)
    ]
    projections = [name for name in stack.names if name.endswith("_0_conv")]
    assert projections == ["conv2_block1_0_conv", "conv3_block1_0_conv", "conv4_block1_0_conv", "conv5_block1_0_conv"]


def test_mobilenet_v2_pads_before_strided_depthwise_and_adds_where_shapes_allow() -> None:
    stack = load_preset("mobilenet-v2")
    info = stack.infer()
    pads = [layer.name for layer in info.layers if layer.layer.type_name == "ZeroPadding2D"]
    assert pads == ["block_1_pad", "block_3_pad", "block_6_pad", "block_13_pad"]
    for pad in pads:
        depthwise = info.named(pad.replace("_pad", "_depthwise"))
        assert depthwise.layer.strides == (2, 2) and depthwise.layer.padding == "valid"
        assert stack.layers[stack.index_of(pad)].padding == ((0, 1), (0, 1))
    relus = [layer for layer in stack.layers if layer.type_name == "ReLU"]
    assert len(relus) == 35 and {layer.max_value for layer in relus} == {6.0}
    adds = [layer.name for layer in info.layers if layer.layer.type_name == "Add"]
    assert adds == [f"block_{n}_add" for n in (2, 4, 5, 7, 8, 9, 11, 12, 14, 15)]
    assert info.output_shape == (1000,)


# --- resnet18 against torchvision's, written out from torch.nn --------------------------------


def torchvision_resnet18(torch: ModuleType) -> object:
    """torchvision.models.resnet18() as torchvision/models/resnet.py builds it (BasicBlock, [2, 2, 2, 2])."""
    nn = torch.nn

    class BasicBlock(nn.Module):
        def __init__(self, inplanes: int, planes: int, stride: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = None
            if stride != 1 or inplanes != planes:
                self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes))

        def forward(self, x):  # noqa: ANN001, ANN202
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            out += identity
            return self.relu(out)

    class ResNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
            self.layer1 = nn.Sequential(BasicBlock(64, 64, 1), BasicBlock(64, 64, 1))
            self.layer2 = nn.Sequential(BasicBlock(64, 128, 2), BasicBlock(128, 128, 1))
            self.layer3 = nn.Sequential(BasicBlock(128, 256, 2), BasicBlock(256, 256, 1))
            self.layer4 = nn.Sequential(BasicBlock(256, 512, 2), BasicBlock(512, 512, 1))
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(512, 1000)

        def forward(self, x):  # noqa: ANN001, ANN202
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    return ResNet().eval()


def convtui_name(module_path: str) -> str:
    return module_path.replace(".", "_")


def test_resnet18_counts_and_shapes_equal_torchvisions(torch: ModuleType) -> None:
    model = torchvision_resnet18(torch)
    assert sum(parameter.numel() for parameter in model.parameters()) == 11_689_512
    buffers = sum(buffer.numel() for name, buffer in model.named_buffers() if name.endswith(("running_mean", "running_var")))
    info = info_of("resnet18")
    assert (info.trainable_params, info.non_trainable_params) == (11_689_512, buffers)

    shapes: dict[str, tuple[int, ...]] = {}
    for path, module in model.named_modules():
        if isinstance(module, (torch.nn.Conv2d, torch.nn.BatchNorm2d, torch.nn.MaxPool2d, torch.nn.Linear)):
            module.register_forward_hook(lambda _m, _i, output, path=path: shapes.__setitem__(path, tuple(output.shape[1:])))
    with torch.no_grad():
        logits = model(torch.zeros(1, 3, 224, 224))
    assert tuple(logits.shape) == (1, 1000) and info.output_shape == (1000,)
    assert len(shapes) == 42  # 20 Conv2d, 20 BatchNorm2d, the MaxPool2d and fc
    macs = 0
    for path, shape in shapes.items():
        module = model.get_submodule(path)
        if isinstance(module, torch.nn.Conv2d):
            macs += math.prod(shape) * module.in_channels // module.groups * math.prod(module.kernel_size)
        elif isinstance(module, torch.nn.Linear):
            macs += module.in_features * module.out_features
    assert info.total_macs == macs == 1_814_073_344  # torchvision's table: 1.81 GFLOPS
    for path, shape in shapes.items():
        mine = info.named(convtui_name(path))
        assert mine is not None, path
        expected = shape if len(shape) == 1 else (shape[1], shape[2], shape[0])  # NCHW -> HWC
        assert mine.output_shape == expected, path
        module = model.get_submodule(path)
        torch_params = sum(parameter.numel() for parameter in module.parameters())
        assert mine.trainable_params == torch_params, path


def torch_weights_for(stack: Stack, model: object) -> dict[int, dict[str, np.ndarray]]:
    """The PyTorch model's weights in convtui's (Keras) layout, by layer index."""
    weights: dict[int, dict[str, np.ndarray]] = {}
    for path, module in model.named_modules():  # type: ignore[attr-defined]
        index = stack.index_of(convtui_name(path))
        if index is None:
            continue
        kind = type(module).__name__
        if kind == "Conv2d":
            weights[index] = {"kernel": module.weight.detach().numpy().transpose(2, 3, 1, 0)}
        elif kind == "BatchNorm2d":
            weights[index] = {
                "gamma": module.weight.detach().numpy(),
                "beta": module.bias.detach().numpy(),
                "moving_mean": module.running_mean.numpy(),
                "moving_variance": module.running_var.numpy(),
            }
        elif kind == "Linear":
            weights[index] = {"kernel": module.weight.detach().numpy().T, "bias": module.bias.detach().numpy()}
    return {index: {name: np.ascontiguousarray(array, np.float32) for name, array in named.items()} for index, named in weights.items()}


def test_resnet18_computes_what_torchvisions_computes(torch: ModuleType) -> None:
    """Same weights (random BatchNorm statistics too), 64x64 to keep it quick: logits within 1e-4."""
    torch.manual_seed(0)
    model = torchvision_resnet18(torch)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
    stack = load_preset("resnet18").with_input_shape((64, 64, 3))
    weights = torch_weights_for(stack, model)
    assert len(weights) == sum(1 for layer in stack.layers if layer.type_name in ("Conv2D", "BatchNormalization", "Dense"))
    image = np.random.default_rng(0).standard_normal((2, 64, 64, 3)).astype(np.float32)
    result = forward(stack, image, weights)
    with torch.no_grad():
        expected = model(torch.from_numpy(image.transpose(0, 3, 1, 2).copy())).numpy()
    scale = np.abs(expected).max()
    np.testing.assert_allclose(result.outputs[-1], expected, rtol=0, atol=1e-4 * scale)


# --- the small presets against Keras Functional models written out here -----------------------


def keras_unet(keras: ModuleType) -> object:
    layers = keras.layers
    inputs = keras.Input((64, 64, 1))
    x = inputs
    skips = {}
    for level, filters in ((1, 16), (2, 32), (3, 64)):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"enc{level}_conv1")(x)
        x = skips[level] = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"enc{level}_conv2")(x)
        x = layers.MaxPooling2D(name=f"enc{level}_pool")(x)
    x = layers.Conv2D(128, 3, padding="same", activation="relu", name="bottleneck_conv1")(x)
    x = layers.Conv2D(128, 3, padding="same", activation="relu", name="bottleneck_conv2")(x)
    for level, filters in ((3, 64), (2, 32), (1, 16)):
        x = layers.Conv2DTranspose(filters, 2, strides=2, name=f"dec{level}_up")(x)
        x = layers.Concatenate(name=f"dec{level}_concat")([x, skips[level]])
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"dec{level}_conv1")(x)
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"dec{level}_conv2")(x)
    outputs = layers.Conv2D(1, 1, activation="sigmoid", name="output")(x)
    return keras.Model(inputs, outputs)


def keras_inception_3a(keras: ModuleType) -> object:
    layers = keras.layers
    inputs = keras.Input((28, 28, 192))

    def conv(filters: int, size: int, name: str, x: object) -> object:
        return layers.Conv2D(filters, size, padding="same" if size > 1 else "valid", activation="relu", name=f"inception_3a_{name}")(x)

    branch1 = conv(64, 1, "1x1", inputs)
    branch2 = conv(128, 3, "3x3", conv(96, 1, "3x3_reduce", inputs))
    branch3 = conv(32, 5, "5x5", conv(16, 1, "5x5_reduce", inputs))
    pooled = layers.MaxPooling2D(3, strides=1, padding="same", name="inception_3a_pool")(inputs)
    branch4 = conv(32, 1, "pool_proj", pooled)
    outputs = layers.Concatenate(name="inception_3a_output")([branch1, branch2, branch3, branch4])
    return keras.Model(inputs, outputs)


def keras_se_block(keras: ModuleType) -> object:
    layers = keras.layers
    inputs = keras.Input((32, 32, 3))
    x = layers.Conv2D(64, 3, padding="same", activation="relu", name="conv")(inputs)
    se = layers.GlobalAveragePooling2D(keepdims=True, name="se_squeeze")(x)
    se = layers.Conv2D(16, 1, activation="relu", name="se_reduce")(se)
    se = layers.Conv2D(64, 1, activation="sigmoid", name="se_expand")(se)
    outputs = layers.Multiply(name="se_excite")([x, se])
    return keras.Model(inputs, outputs)


def keras_residual_demo(keras: ModuleType) -> object:
    layers = keras.layers
    inputs = keras.Input((28, 28, 1))
    x = layers.Conv2D(32, 3, activation="relu", name="conv2d")(inputs)
    y = layers.Conv2D(64, 3, padding="same", activation="relu", name="conv2d_1")(x)
    shortcut = layers.Conv2D(64, 1, name="projection")(x)
    outputs = layers.Add(name="add")([y, shortcut])
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize(
    ("name", "build"),
    [("unet-small", keras_unet), ("inception-module", keras_inception_3a), ("se-block", keras_se_block), ("residual-demo", keras_residual_demo)],
)
def test_small_presets_equal_keras_functional_models(keras: ModuleType, name: str, build: object) -> None:
    model = build(keras)  # type: ignore[operator]
    info = info_of(name)
    assert_same_layers(keras_rows(keras, model), convtui_rows(info))
    assert info.total_params == model.count_params()


# --- the small presets run, and do what their descriptions say --------------------------------


def run(name: str) -> tuple[StackInfo, dict[str, np.ndarray]]:
    stack = load_preset(name)
    info = stack.infer()
    image = np.random.default_rng(1).uniform(0, 1, info.input_shape).astype(np.float32)
    result = forward(stack, image, seed=0)
    outputs = {layer.name: output[0] for layer, output in zip(info.layers, result.outputs)}
    for layer in info.layers:
        assert outputs[layer.name].shape == layer.output_shape, layer.name
        assert np.isfinite(outputs[layer.name]).all(), layer.name
    outputs["input"] = result.input[0]
    return info, outputs


def test_residual_demo_adds_the_projection() -> None:
    info, outputs = run("residual-demo")
    assert [(layer.name, layer.output_shape) for layer in info.layers] == [
        ("conv2d", (26, 26, 32)),
        ("conv2d_1", (26, 26, 64)),
        ("projection", (26, 26, 64)),
        ("add", (26, 26, 64)),
    ]
    assert info.named("add").input_shapes == ((26, 26, 64), (26, 26, 64))
    np.testing.assert_allclose(outputs["add"], outputs["conv2d_1"] + outputs["projection"], rtol=1e-6, atol=1e-6)


def without_projection(text: str) -> str:
    """The preset as a learner edits it: the projection table deleted, the Add taking conv2d itself."""
    start = text.index("# the shortcut")
    end = text.index("[[layers]]", text.index('name = "projection"'))
    edited = text[:start] + text[end:]
    assert edited.count('"projection"') == 1
    return edited.replace('inputs = ["conv2d_1", "projection"]', 'inputs = ["conv2d_1", "conv2d"]')


EXPECTED_ADVICE = (
    "Add needs equal shapes (or sides of 1 that broadcast): conv2d_1 gives (26, 26, 64), conv2d gives (26, 26, 32);"
    " put a Conv2D(64, 1x1) after conv2d (on a residual's shortcut: ResNet's projection), or make conv2d_1 give 32 channels"
)


def test_residual_demo_without_the_projection_is_invalid_with_the_advice() -> None:
    stack = parse_preset(without_projection((PRESETS_FOLDER / "residual-demo.toml").read_text()), "edited.toml")
    info = stack.infer()
    add = info.named("add")
    assert add.status == "invalid"
    assert add.error == EXPECTED_ADVICE
    assert add.input_shapes == ((26, 26, 64), (26, 26, 32))
    # the same through the app's edit: delete the projection, its user takes its input instead
    edited = load_preset("residual-demo").without(load_preset("residual-demo").index_of("projection"))
    assert edited.inputs_of(edited.index_of("add")) == ("conv2d_1", "conv2d")
    assert edited.infer().named("add").error == EXPECTED_ADVICE


def test_residual_demo_with_the_seeds_valid_padding_asks_for_equal_sides() -> None:
    text = (PRESETS_FOLDER / "residual-demo.toml").read_text().replace('padding = "same"\n', "")
    info = parse_preset(text, "valid.toml").infer()
    assert info.named("conv2d_1").output_shape == (24, 24, 64)  # the seed's question
    add = info.named("add")
    assert add.status == "invalid"
    assert "conv2d_1 gives (24, 24, 64), projection gives (26, 26, 64)" in add.error
    assert "make the heights and widths equal" in add.error


def test_residual_demo_summary_exits_1_naming_the_fix(run_cli, tmp_path: Path) -> None:  # noqa: ANN001
    path = tmp_path / "no-projection.toml"
    path.write_text(without_projection((PRESETS_FOLDER / "residual-demo.toml").read_text()), encoding="utf-8")
    result = run_cli("summary", path)
    assert result.returncode == 1, result.stderr
    assert "put a Conv2D(64, 1x1) after conv2d (on a residual's shortcut" in result.stdout + result.stderr


def test_se_block_scales_each_channel_by_its_gate() -> None:
    info, outputs = run("se-block")
    gates = outputs["se_expand"]
    assert gates.shape == (1, 1, 64) and ((gates > 0) & (gates < 1)).all()
    np.testing.assert_allclose(outputs["se_squeeze"][0, 0], outputs["conv"].mean(axis=(0, 1)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(outputs["se_excite"], outputs["conv"] * gates, rtol=1e-6, atol=1e-7)
    assert info.named("se_excite").input_shapes == ((32, 32, 64), (1, 1, 64))


def test_inception_module_concatenates_its_branches() -> None:
    info, outputs = run("inception-module")
    assert info.total_macs == 128_049_152  # GoogLeNet Table 1, inception (3a): 128M operations
    branches = ["inception_3a_1x1", "inception_3a_3x3", "inception_3a_5x5", "inception_3a_pool_proj"]
    assert [info.named(name).output_shape[-1] for name in branches] == [64, 128, 32, 32]
    assert info.output_shape == (28, 28, 256)
    np.testing.assert_array_equal(outputs["inception_3a_output"], np.concatenate([outputs[name] for name in branches], axis=-1))
    for name in ("inception_3a_1x1", "inception_3a_3x3_reduce", "inception_3a_5x5_reduce", "inception_3a_pool"):
        assert info.named(name).inputs == ("input",)


def test_unet_joins_each_skip_of_the_same_size() -> None:
    info, outputs = run("unet-small")
    for level, (side, channels) in {3: (16, 64), 2: (32, 32), 1: (64, 16)}.items():
        concat = info.named(f"dec{level}_concat")
        assert concat.inputs == (f"dec{level}_up", f"enc{level}_conv2")
        assert concat.input_shapes == ((side, side, channels), (side, side, channels))
        assert concat.output_shape == (side, side, 2 * channels)
        np.testing.assert_array_equal(outputs[concat.name][..., channels:], outputs[f"enc{level}_conv2"])
    assert info.named("bottleneck_conv2").output_shape == (8, 8, 128)
    assert info.output_shape == (64, 64, 1)
    assert ((outputs["output"] > 0) & (outputs["output"] < 1)).all()


# --- the memory guard -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["resnet50", "mobilenet-v2", "resnet18"])
def test_the_memory_guard_accepts_the_big_presets_at_224(name: str) -> None:
    info = info_of(name)
    assert info.input_shape == (224, 224, 3)
    check_memory(info, 1, DEFAULT_MAX_MEMORY)  # raises EngineError when over the budget
    peak = estimate_memory(info, 1, info.params_bytes).peak_bytes
    assert info.params_bytes + info.activation_bytes < peak < 2 * 2**30
