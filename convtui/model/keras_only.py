"""Keras 3 arguments of the catalogue's layers that convtui does not take, each with what to do instead.

A table copied from Keras code may carry them; "unknown argument" with a "did you mean" would
send its author after a near-miss name (output_padding -> padding), so each says that convtui
does not support it, what convtui computes instead, and to remove it.
"""

from __future__ import annotations

KERAS_ONLY: dict[str, tuple[str, tuple[str, ...]]] = {
    "output_padding": (
        'its Conv2DTranspose gives Keras\'s output without it (n*s with "same", n*s + max(k - s, 0) with "valid");'
        " remove it, and change strides, kernel_size or padding for another size",
        ("Conv2DTranspose",),
    ),
    "dilation_rate": ("its Conv2DTranspose has no dilation; remove it", ("Conv2DTranspose",)),
    "axis": ("its BatchNormalization normalises the channels, as Keras's default axis -1 does; remove it", ("BatchNormalization",)),
    "renorm": ("batch renormalisation is not supported; remove it", ("BatchNormalization",)),
    "renorm_clipping": ("batch renormalisation is not supported; remove it", ("BatchNormalization",)),
    "renorm_momentum": ("batch renormalisation is not supported; remove it", ("BatchNormalization",)),
    "synchronized": ("it syncs statistics across devices, and convtui runs on one; remove it", ("BatchNormalization",)),
    "lora_rank": ("LoRA fine-tuning is not supported; remove it", ("Dense",)),
    "lora_alpha": ("LoRA fine-tuning is not supported; remove it", ("Dense",)),
    "quantization_config": ("quantisation is not supported; convtui computes in float32; remove it", ("Dense",)),
    "data_format": (
        'convtui works channels-last, Keras\'s default "channels_last"; remove it'
        " (the torch convention shows shapes as PyTorch's (C, H, W))",
        (),
    ),
    "input_shape": ("convtui takes the input's shape once, at the top of the file (input_shape = [h, w, c]); remove it here", ()),
    "trainable": ("convtui trains every weight (freezing a layer is not supported); remove it", ()),
    "dtype": ("convtui computes in float32; remove it", ()),
    "autocast": ("convtui computes in float32, without mixed precision; remove it", ()),
}
"""Argument -> (what convtui does instead and what to do, the types Keras takes it on; empty: every layer)."""

DEFAULT_INITIALIZERS = {
    "bias": "zeros",
    "beta": "zeros",
    "moving_mean": "zeros",
    "gamma": "ones",
    "moving_variance": "ones",
    "depthwise": "glorot_uniform",
    "pointwise": "glorot_uniform",
}
"""Keras's default initialiser of each weight whose own `<weight>_initializer` convtui does not take."""


def keras_only_message(key: str, type_name: str) -> str | None:
    """The sentence for a real Keras argument convtui does not take; None when `key` is no such argument."""
    reason = keras_only_reason(key, type_name)
    return None if reason is None else f"a Keras argument that convtui does not support: {reason}"


def keras_only_reason(key: str, type_name: str) -> str | None:
    if key in KERAS_ONLY:
        reason, types = KERAS_ONLY[key]
        return reason if not types or type_name in types else None
    if key.endswith("_regularizer"):
        return "a training penalty, which changes no shape, parameter or MAC, and convtui's training adds none; remove it"
    if key.endswith("_constraint"):
        return "a limit on weights after each training step, which changes no shape, parameter or MAC, and convtui's training applies none; remove it"
    weight = key.removesuffix("_initializer")
    if weight in DEFAULT_INITIALIZERS:
        return f'convtui starts these weights as Keras does by default ("{DEFAULT_INITIALIZERS[weight]}"); remove it'
    return None
