"""Training against the references: optimisers against Keras's own applied to the same variables and
gradients; losses and their gradients against Keras's losses differentiated by torch autograd;
whole training steps against Keras's model.fit; and the data sets, including every bad case.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from PIL import Image

from convtui.engine.datasets import GENERATED, DataError, Dataset, load_dataset, split_at
from convtui.engine.losses import LOSSES, Loss, categorical_crossentropy, loss_for, mean_squared_error, sparse_categorical_crossentropy
from convtui.engine.optimizers import SGD, Adam, AdamW, Optimizer, RMSprop, make_optimizer
from convtui.engine.train import TrainSettings, batches, train, writable_weights
from convtui.engine.weights import initial_weights
from convtui.model import Stack, layer_to_config
from convtui.model.layers import BatchNormalization, Conv2D, Dense, Dropout, Flatten, MaxPooling2D

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def keras() -> ModuleType:
    """Keras 3 on its torch backend (the variable must be set before the first import)."""
    os.environ["KERAS_BACKEND"] = "torch"
    module = pytest.importorskip("keras")
    assert module.backend.backend() == "torch"
    return module


# --- optimisers -----------------------------------------------------------------------------------

OPTIMIZER_CASES: dict[str, tuple[Callable[..., Optimizer], dict[str, Any]]] = {
    "sgd": (SGD, {"learning_rate": 0.1}),
    "sgd momentum": (SGD, {"learning_rate": 0.1, "momentum": 0.9}),
    "sgd nesterov": (SGD, {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    "adam": (Adam, {}),
    "adam amsgrad": (Adam, {"learning_rate": 0.01, "amsgrad": True, "beta_1": 0.8}),
    "adamw": (AdamW, {"learning_rate": 0.01}),
    "adamw strong decay": (AdamW, {"learning_rate": 0.01, "weight_decay": 0.5}),
    "rmsprop": (RMSprop, {}),
    "rmsprop centered momentum": (RMSprop, {"learning_rate": 0.01, "momentum": 0.9, "centered": True, "rho": 0.8}),
}
KERAS_OPTIMIZERS = {SGD: "SGD", Adam: "Adam", AdamW: "AdamW", RMSprop: "RMSprop"}


@pytest.mark.parametrize("case", OPTIMIZER_CASES)
def test_optimizers_match_keras_step_by_step_with_a_learning_rate_changed_midway(keras: ModuleType, case: str) -> None:
    kind, arguments = OPTIMIZER_CASES[case]
    rng = np.random.default_rng(3)
    initial = {0: {"kernel": rng.normal(size=(3, 4)).astype(np.float32), "bias": rng.normal(size=4).astype(np.float32)}}
    ours = writable_weights(initial)
    optimizer = kind(**arguments)
    reference = getattr(keras.optimizers, KERAS_OPTIMIZERS[kind])(**arguments)
    variables = [keras.Variable(initial[0]["kernel"]), keras.Variable(initial[0]["bias"])]
    for step in range(5):
        if step == 3:  # the app edits the learning rate while paused
            optimizer.learning_rate = reference.learning_rate = optimizer.learning_rate / 2
        gradients = {"kernel": rng.normal(size=(3, 4)).astype(np.float32), "bias": rng.normal(size=4).astype(np.float32)}
        optimizer.step(ours, {0: gradients})
        reference.apply([torch.from_numpy(gradients["kernel"]), torch.from_numpy(gradients["bias"])], variables)
        for name, variable in zip(("kernel", "bias"), variables):
            np.testing.assert_allclose(ours[0][name], keras.ops.convert_to_numpy(variable), rtol=1e-6, atol=1e-7, err_msg=f"{case}, step {step}, {name}")
    assert optimizer.iterations == 5


def test_keras_defaults_and_names() -> None:
    assert (SGD().learning_rate, SGD().momentum, SGD().nesterov) == (0.01, 0.0, False)
    assert (Adam().learning_rate, Adam().beta_1, Adam().beta_2, Adam().epsilon, Adam().amsgrad) == (0.001, 0.9, 0.999, 1e-7, False)
    assert AdamW().weight_decay == 0.004
    assert (RMSprop().learning_rate, RMSprop().rho, RMSprop().momentum, RMSprop().epsilon, RMSprop().centered) == (0.001, 0.9, 0.0, 1e-7, False)
    assert make_optimizer("rmsprop", 0.5).learning_rate == 0.5


def test_the_optimizer_updates_the_arrays_it_is_given_in_place() -> None:
    weights = writable_weights({0: {"kernel": np.ones((2, 2))}})
    kernel = weights[0]["kernel"]
    SGD(learning_rate=0.5).step(weights, {0: {"kernel": np.ones((2, 2), np.float32)}})
    assert weights[0]["kernel"] is kernel and np.all(kernel == 0.5)


# --- losses -----------------------------------------------------------------------------------------


def probabilities(rng: np.random.Generator) -> np.ndarray:
    """Softmax rows, one saturated (1 and 0s: clipped by Keras) and one that does not sum to 1 (renormalised)."""
    logits = rng.normal(size=(6, 5)).astype(np.float32) * 2
    rows = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    rows[0] = [1, 0, 0, 0, 0]
    rows[1] *= 0.7
    return rows.astype(np.float32)


LABELS = np.array([0, 3, 1, 4, 2, 2])


def keras_value_and_gradient(keras_loss: Any, targets: np.ndarray, output: np.ndarray) -> tuple[float, np.ndarray]:
    """Keras's reduced loss and torch autograd's gradient of it with respect to the output."""
    tensor = torch.tensor(output, requires_grad=True)
    value = keras_loss(torch.from_numpy(targets), tensor)
    value.backward()
    return float(value.detach()), tensor.grad.numpy()


LOSS_CASES = {
    "sparse from probabilities": (sparse_categorical_crossentropy, "SparseCategoricalCrossentropy", False, "labels"),
    "sparse from logits": (sparse_categorical_crossentropy, "SparseCategoricalCrossentropy", True, "labels"),
    "categorical from probabilities": (categorical_crossentropy, "CategoricalCrossentropy", False, "one hot"),
    "categorical from logits": (categorical_crossentropy, "CategoricalCrossentropy", True, "one hot"),
    "mean squared error": (mean_squared_error, "MeanSquaredError", None, "one hot"),
}


@pytest.mark.parametrize("case", LOSS_CASES)
def test_losses_and_their_gradients_match_keras_under_torch_autograd(keras: ModuleType, case: str) -> None:
    function, keras_name, from_logits, target_kind = LOSS_CASES[case]
    rng = np.random.default_rng(0)
    output = rng.normal(size=(6, 5)).astype(np.float32) if from_logits else probabilities(rng)
    targets = LABELS if target_kind == "labels" else np.eye(5, dtype=np.float32)[LABELS]
    keras_loss = getattr(keras.losses, keras_name)(**({} if from_logits is None else {"from_logits": from_logits}))
    expected_value, expected_gradient = keras_value_and_gradient(keras_loss, targets, output)
    value, gradient = function(targets, output, bool(from_logits))
    assert value == pytest.approx(expected_value, rel=1e-6)
    np.testing.assert_allclose(gradient, expected_gradient, rtol=1e-5, atol=1e-7)
    assert gradient.dtype == np.float32


def test_a_clipped_probability_passes_no_gradient_as_in_keras() -> None:
    output = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], np.float32)
    value, gradient = sparse_categorical_crossentropy(np.array([0, 0]), output)
    assert value == pytest.approx(-(np.log(np.float32(1 - 1e-7)) + np.log(np.float32(1e-7))) / 2, rel=1e-5)
    assert not gradient.any()


def test_the_loss_is_chosen_as_a_keras_user_compiles_it() -> None:
    softmax = Stack((4, 4, 1), (Flatten(), Dense(units=3, activation="softmax"))).infer()
    logits = Stack((4, 4, 1), (Flatten(), Dense(units=3))).infer()
    assert loss_for(softmax) == Loss("sparse_categorical_crossentropy", from_logits=False)
    assert loss_for(logits) == Loss("sparse_categorical_crossentropy", from_logits=True)
    output = probabilities(np.random.default_rng(1))
    for name in LOSSES:  # every loss takes integer labels when training calls it
        value, gradient = Loss(name)(output, LABELS)
        assert np.isfinite(value) and gradient.shape == output.shape


# --- whole training steps against model.fit -------------------------------------------------------


def small_stack() -> Stack:
    """Conv2D without a bias: where ReLU passes a whole channel, BatchNormalization cancels a bias before it, its
    gradient is rounding noise, and Adam turns noise into full steps of either sign."""
    return Stack(
        (8, 8, 2),
        (
            Conv2D(filters=4, kernel_size=(3, 3), activation="relu", use_bias=False),
            BatchNormalization(),
            MaxPooling2D(pool_size=(2, 2)),
            Dropout(rate=0.0),
            Flatten(),
            Dense(units=3, activation="softmax"),
        ),
    )


def keras_sequential(keras: ModuleType, stack: Stack, weights: dict[int, dict[str, np.ndarray]]) -> Any:
    layers = []
    for layer in stack.layers:
        config = layer_to_config(layer)
        layers.append(getattr(keras.layers, config.pop("type"))(**config))
    model = keras.Sequential([keras.Input(stack.input_shape), *layers])
    for index, layer in enumerate(model.layers):
        for variable in layer.weights:
            variable.assign(weights[index][variable.name])
    return model


@pytest.mark.parametrize(
    "make_optimizers",
    [
        pytest.param(lambda keras: (SGD(learning_rate=0.1, momentum=0.9), keras.optimizers.SGD(learning_rate=0.1, momentum=0.9)), id="sgd momentum"),
        pytest.param(lambda keras: (Adam(learning_rate=0.01), keras.optimizers.Adam(learning_rate=0.01)), id="adam"),
    ],
)
def test_three_training_steps_match_keras_model_fit(keras: ModuleType, make_optimizers: Callable[[ModuleType], tuple[Optimizer, Any]]) -> None:
    stack = small_stack()
    info = stack.infer()
    rng = np.random.default_rng(5)
    x = rng.random((24, 8, 8, 2), dtype=np.float32)
    y = rng.integers(0, 3, 24)
    weights = writable_weights(initial_weights(info, seed=4))
    ours, reference = make_optimizers(keras)
    model = keras_sequential(keras, stack, weights)
    model.compile(optimizer=reference, loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    dataset = Dataset("test", x, y, x[:0], y[:0], ("a", "b", "c"))
    result = train(info, dataset, weights, ours, TrainSettings(epochs=1, batch_size=8, shuffle=False))
    assert result.steps == 3
    assert result.history[0].loss == pytest.approx(history.history["loss"][0], rel=1e-5)
    for index, layer in enumerate(model.layers):
        for variable in layer.weights:
            np.testing.assert_allclose(weights[index][variable.name], keras.ops.convert_to_numpy(variable), atol=1e-4, err_msg=f"layer {index} {variable.name}")
    assert not np.allclose(weights[1]["moving_mean"], 0)  # the moving statistics were stored


# --- the loop -------------------------------------------------------------------------------------


def test_without_shuffling_batch_k_is_examples_k_times_b_onwards_and_the_last_is_short() -> None:
    assert [list(batch) for batch in batches(7, 3, None)] == [[0, 1, 2], [3, 4, 5], [6]]
    shuffled = list(batches(7, 3, np.random.default_rng(0)))
    assert sorted(np.concatenate(shuffled)) == list(range(7)) and [len(batch) for batch in shuffled] == [3, 3, 1]


def test_should_stop_ends_training_between_steps_and_keeps_what_was_trained() -> None:
    info = Stack((6, 6, 1), (Flatten(), Dense(units=3, activation="softmax"))).infer()
    dataset = load_dataset("stripes:60", Stack((6, 6, 1), (Flatten(), Dense(units=4, activation="softmax"))).infer(), validation_split=0)
    dataset = Dataset("t", dataset.x_train, dataset.y_train % 3, dataset.x_train[:10], dataset.y_train[:10] % 3, ("a", "b", "c"))
    weights = writable_weights(initial_weights(info))
    before = weights[1]["kernel"].copy()
    steps = []
    result = train(info, dataset, weights, SGD(), TrainSettings(epochs=3, batch_size=10), on_step=steps.append, should_stop=lambda: len(steps) >= 2)
    assert result.stopped and result.steps == 2 and len(result.history) == 1 and result.history[0].steps == 2
    assert not np.array_equal(weights[1]["kernel"], before)
    assert result.final is not None and result.final.confusion.sum() == 10


def test_a_tiny_stack_learns_stripes() -> None:
    info = Stack((12, 12, 1), (Conv2D(filters=4, kernel_size=(3, 3), activation="relu"), Flatten(), Dense(units=4, activation="softmax"))).infer()
    dataset = load_dataset("stripes:400", info, seed=1)
    result = train(info, dataset, writable_weights(initial_weights(info)), Adam(learning_rate=0.01), TrainSettings(epochs=4, batch_size=16))
    assert result.final is not None and result.final.accuracy >= 0.9


# --- data -----------------------------------------------------------------------------------------


def classifier(shape: tuple[int, int, int], classes: int) -> Any:
    return Stack(shape, (Flatten(), Dense(units=classes, activation="softmax"))).infer()


@pytest.mark.parametrize("name", GENERATED)
def test_generated_sets_are_drawn_at_the_stacks_size_balanced_and_the_same_for_a_seed(name: str) -> None:
    classes = len(GENERATED[name].class_names)
    info = classifier((20, 17, 3), 10)
    first = load_dataset(f"{name}:{classes * 10}", info, seed=7)
    again = load_dataset(f"{name}:{classes * 10}", info, seed=7)
    other = load_dataset(f"{name}:{classes * 10}", info, seed=8)
    assert first.x_train.shape == (split_at(classes * 10, 0.1), 20, 17, 3) and first.x_train.dtype == np.float32
    assert len(first.x_validation) == classes * 10 - len(first.x_train)
    labels = np.concatenate([first.y_train, first.y_validation])
    assert np.array_equal(np.bincount(labels), [10] * classes)
    assert 0 <= first.x_train.min() and first.x_train.max() <= 1
    assert np.array_equal(first.x_train, again.x_train) and not np.array_equal(first.x_train, other.x_train)
    assert first.class_names == GENERATED[name].class_names
    assert "repeated grey over 3 channels" in first.notes
    assert len(load_dataset(name, info).x_train) + len(load_dataset(name, info).x_validation) == GENERATED[name].default_count


def save_png(path: Path, size: tuple[int, int], colour: tuple[int, int, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)


def test_a_folder_of_class_folders_is_read_resized_converted_and_said(tmp_path: Path) -> None:
    for index in range(3):
        save_png(tmp_path / "cat" / f"{index}.png", (10, 12), (255, 0, 0))
        save_png(tmp_path / "dog" / f"{index}.png", (8, 8), (0, 0, 255))
    (tmp_path / "dog" / "readme.txt").write_text("not an image")
    dataset = load_dataset(str(tmp_path), classifier((8, 8, 1), 2), validation_split=0)
    assert dataset.class_names == ("cat", "dog") and dataset.x_train.shape == (6, 8, 8, 1)
    red, blue = 0.299, 0.114
    for image, label in zip(dataset.x_train, dataset.y_train):
        assert np.allclose(image, red if label == 0 else blue, atol=1e-6)
    assert any(note.startswith("resized from 12x10 to 8x8") and note.endswith("(3 images)") for note in dataset.notes)
    assert any(note.startswith("converted RGB to grey") and note.endswith("(6 images)") for note in dataset.notes)


def test_an_npz_of_uint8_images_is_scaled_and_split_as_keras_splits(tmp_path: Path) -> None:
    x = np.arange(10 * 4 * 4, dtype=np.uint8).reshape(10, 4, 4)
    y = np.arange(10) % 3
    np.savez(tmp_path / "data.npz", x=x, y=y)
    dataset = load_dataset(str(tmp_path / "data.npz"), classifier((4, 4, 1), 3), validation_split=0.25)
    assert np.array_equal(dataset.x_train[..., 0], x[:8] / np.float32(255)) and np.array_equal(dataset.y_validation, y[8:])
    assert "scaled uint8 images to [0, 1] (divided by 255)" in dataset.notes


def test_an_npz_of_floats_is_used_as_given_and_resized(tmp_path: Path) -> None:
    x = np.full((4, 6, 6, 1), 3.5, np.float32)
    np.savez(tmp_path / "data.npz", x=x, y=np.array([0, 1, 0, 1]))
    dataset = load_dataset(str(tmp_path / "data.npz"), classifier((3, 3, 1), 2), validation_split=0)
    assert dataset.x_train.shape == (4, 3, 3, 1) and np.allclose(dataset.x_train, 3.5)
    assert any("as given" in note for note in dataset.notes) and any(note.startswith("resized from 6x6 to 3x3") for note in dataset.notes)


def test_keras_mnist_npz_layout_validates_on_its_test_set(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    np.savez(
        tmp_path / "mnist.npz",
        x_train=rng.integers(0, 256, (12, 28, 28), dtype=np.uint8), y_train=rng.integers(0, 10, 12, dtype=np.uint8),
        x_test=rng.integers(0, 256, (5, 28, 28), dtype=np.uint8), y_test=rng.integers(0, 10, 5, dtype=np.uint8),
    )  # fmt: skip
    dataset = load_dataset(str(tmp_path / "mnist.npz"), classifier((28, 28, 1), 10), validation_split=0.5)
    assert (len(dataset.x_train), len(dataset.x_validation)) == (12, 5)
    assert any("test set" in note for note in dataset.notes)


def bad_case(tmp_path: Path, case: str) -> tuple[str, Any]:
    """The data source and stack of one bad case, written into tmp_path."""
    info = classifier((4, 4, 1), 3)
    if case == "labels past the output size":
        np.savez(tmp_path / "d.npz", x=np.zeros((4, 4, 4), np.uint8), y=np.array([0, 1, 2, 3]))
    elif case == "label count":
        np.savez(tmp_path / "d.npz", x=np.zeros((4, 4, 4), np.uint8), y=np.array([0, 1, 2]))
    elif case == "float labels":
        np.savez(tmp_path / "d.npz", x=np.zeros((4, 4, 4), np.uint8), y=np.zeros(4))
    elif case == "missing keys":
        np.savez(tmp_path / "d.npz", images=np.zeros((4, 4, 4), np.uint8))
    elif case == "not an npz":
        (tmp_path / "d.npz").write_text("hello")
    elif case in ("empty folder", "class folder without images", "unreadable image"):
        (tmp_path / "d").mkdir()
        if case != "empty folder":
            (tmp_path / "d" / "cat").mkdir()
        if case == "unreadable image":
            (tmp_path / "d" / "cat" / "broken.png").write_bytes(b"not a png")
        return str(tmp_path / "d"), info
    elif case == "output not one vector":
        return "shapes:20", Stack((4, 4, 1), (Conv2D(filters=2, kernel_size=(3, 3)),)).infer()
    elif case == "bad count":
        return "shapes:many", info
    elif case == "unknown name":
        return "circles", info
    return str(tmp_path / "d.npz"), info


BAD_CASES = {
    "labels past the output size": "has labels up to 3 but the stack's output has 3 values (classes 0 to 2); give the last layer 4 units",
    "label count": "'x' has 4 images but 'y' has 3 labels; give one label per image",
    "float labels": "'y' has shape (4,) of float64; give one integer class label per image",
    "missing keys": "has keys images; save x (N, H, W) or (N, H, W, C) and y (N,) integer labels",
    "not an npz": "is not an .npz (zip) archive",
    "empty folder": "has no class folders; put the images of each class in a sub-folder of it",
    "class folder without images": "class folder 'cat' has no PNG, JPEG, BMP or GIF images; add some or remove the folder",
    "unreadable image": "cannot read image: not a PNG, JPEG, BMP or GIF file (cannot identify image file); remove this image",
    "output not one vector": "the stack's output is (2, 2, 2), not one vector of class scores per image; end it with Flatten",
    "bad count": "'many' is not a number of examples; write NAME:COUNT",
    "unknown name": "no such folder or .npz file, nor a generated set; the generated sets are shapes, digits, stripes",
}


@pytest.mark.parametrize("case", BAD_CASES)
def test_every_bad_data_case_is_one_line_naming_the_file_and_what_to_do(tmp_path: Path, case: str) -> None:
    source, info = bad_case(tmp_path, case)
    with pytest.raises(DataError) as raised:
        load_dataset(source, info)
    message = str(raised.value)
    assert "\n" not in message and BAD_CASES[case] in message
    if case != "output not one vector":  # the stack's problem: the command names the preset
        assert message.startswith(str(Path(source) / "cat" / "broken.png") if case == "unreadable image" else source.split(":")[0])
    assert raised.value.exit_code == 2


@pytest.mark.parametrize(("names", "said"), [(("only",), "1 class"), (("a", "b"), "2 classes")])
def test_a_data_sets_summary_counts_its_classes_in_words_people_read(names, said):
    images = np.zeros((3, 4, 4, 1), np.float32)
    dataset = Dataset("set.npz", images, np.zeros(3, np.int64), images[:0], np.zeros(0, np.int64), names)
    assert dataset.summary == f"set.npz: 3 training and 0 validation images of 4x4x1, {said}"
