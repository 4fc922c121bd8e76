"""The built-in presets reproduce the published networks exactly.

Every expected figure below is written out from the published source, not from convtui:
Keras's model.summary() (keras.io examples, keras.applications), torchvision's model, or the
arithmetic of the layer (kernel_h * kernel_w * in_channels * filters + bias). A row is
(Keras layer type, output shape without the batch axis, params, non-trainable params).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from convtui import Stack, builtin_preset_names, load_preset
from convtui.model import parse_preset, preset_text

PRESETS_FOLDER = Path(__file__).resolve().parents[2] / "presets"

# name: (total, trainable, non-trainable) as Keras's model.summary() / torchvision print them.
PUBLISHED_TOTALS = {
    "seed-28x28x1": (18_816, 18_816, 0),
    "seed-28x28x3-5x5": (53_600, 53_600, 0),
    # keras.io "Simple MNIST convnet": Total params: 34,826
    "mnist-convnet": (34_826, 34_826, 0),
    # LeNet-5, common variant (full C3, average pooling, softmax output)
    "lenet5": (61_706, 61_706, 0),
    # torchvision.models.alexnet(): sum(p.numel() for p in model.parameters()) == 61,100,840
    "alexnet": (61_100_840, 61_100_840, 0),
    # keras.applications.VGG16(): Total params: 138,357,544
    "vgg16": (138_357_544, 138_357_544, 0),
    # keras.applications.MobileNet(): Total 4,253,864, trainable 4,231,976, non-trainable 21,888
    "mobilenet-v1": (4_253_864, 4_231_976, 21_888),
    # keras examples/cifar10_cnn.py: Total params: 1,250,858
    "cifar10-small": (1_250_858, 1_250_858, 0),
    # 8 bias-free 3x3 filters over 1 channel
    "edges-demo": (72, 72, 0),
    # keras.applications.ResNet50(): Total 25,636,712, trainable 25,583,592, non-trainable 53,120
    "resnet50": (25_636_712, 25_583_592, 53_120),
    # torchvision.models.resnet18(): 11,689,512 parameters; its BatchNorm2d running_mean and running_var
    # buffers (2 * 4,800 channels) are what Keras counts as non-trainable weights
    "resnet18": (11_699_112, 11_689_512, 9_600),
    # keras.applications.MobileNetV2(): Total 3,538,984, trainable 3,504,872, non-trainable 34,112
    "mobilenet-v2": (3_538_984, 3_504_872, 34_112),
    # the arithmetic of its 17 weighted layers (see tests/unit/test_presets_graph.py)
    "unet-small": (481_745, 481_745, 0),
    # GoogLeNet's inception (3a): 163,328 weights (Table 1: "159K" = 163,328 / 1,024) + 368 biases
    "inception-module": (163_696, 163_696, 0),
    # 3*3*3*64+64 + 64*16+16 + 16*64+64
    "se-block": (3_920, 3_920, 0),
    # the seed's 18,816 + the 1x1 projection's 1*1*32*64+64
    "residual-demo": (20_928, 20_928, 0),
}

# Multiply-accumulates of the weighted layers (kernel products only, no bias, no pooling).
PUBLISHED_MACS = {
    # 26*26*32*9 + 24*24*64*(9*32)
    "seed-28x28x1": 194_688 + 10_616_832,
    # 24*24*32*(25*3) + 20*20*64*(25*32)
    "seed-28x28x3-5x5": 1_382_400 + 20_480_000,
    # 26*26*32*9 + 11*11*64*288 + 1600*10
    "mnist-convnet": 194_688 + 2_230_272 + 16_000,
    # 28*28*6*25 + 10*10*16*150 + 120*400 + 120*84 + 84*10
    "lenet5": 117_600 + 240_000 + 48_000 + 10_080 + 840,
    # torchvision's table lists AlexNet at 0.71 GFLOPS (multiply-adds)
    "alexnet": 714_188_480,
    # the usual "15.47 G MACs" of VGG16 at 224x224 (see VGG16_MACS below)
    "vgg16": 15_470_264_320,
    # MobileNet paper, Table 1/8: 569 million mult-adds
    "mobilenet-v1": 568_740_352,
    # 32*32*32*27 + 30*30*32*288 + 15*15*64*288 + 13*13*64*576 + 2304*512 + 512*10
    "cifar10-small": 884_736 + 8_294_400 + 4_147_200 + 6_230_016 + 1_179_648 + 5_120,
    # 64*64*8*9
    "edges-demo": 294_912,
    # torchvision's table lists ResNet-18 at 1.81 GFLOPS (multiply-adds)
    "resnet18": 1_814_073_344,
    # MobileNetV2 paper (arXiv:1801.04381), Table 4: 300M multiply-adds
    "mobilenet-v2": 300_774_272,
    # GoogLeNet paper, Table 1, inception (3a): 128M operations
    "inception-module": 28 * 28 * (192 * 64 + 192 * 96 + 9 * 96 * 128 + 192 * 16 + 25 * 16 * 32 + 192 * 32),
    # the convolutions: out_h * out_w * filters * kh * kw * in_channels; Conv2DTranspose(2x2, stride 2):
    # in_h * in_w * in_channels * 2 * 2 * filters (each input pixel spreads into a 2x2 patch)
    "unet-small": (
        64 * 64 * 16 * 9 * (1 + 16) + 32 * 32 * 32 * 9 * (16 + 32) + 16 * 16 * 64 * 9 * (32 + 64) + 8 * 8 * 128 * 9 * (64 + 128)
        + 8 * 8 * 128 * 4 * 64 + 16 * 16 * 64 * 9 * (128 + 64)
        + 16 * 16 * 64 * 4 * 32 + 32 * 32 * 32 * 9 * (64 + 32)
        + 32 * 32 * 32 * 4 * 16 + 64 * 64 * 16 * 9 * (32 + 16)
        + 64 * 64 * 16
    ),
    # 32*32*64*27 + 64*16 + 16*64
    "se-block": 1_769_472 + 1_024 + 1_024,
    # 26*26*32*9 + 26*26*64*(9*32) + 26*26*64*32
    "residual-demo": 194_688 + 12_460_032 + 1_384_448,
}

SEED_28X28X1 = [
    ("Conv2D", (26, 26, 32), 320, 0),
    ("Conv2D", (24, 24, 64), 18_496, 0),
]

SEED_28X28X3_5X5 = [
    ("Conv2D", (24, 24, 32), 2_400, 0),
    ("Conv2D", (20, 20, 64), 51_200, 0),
]

# keras.io "Simple MNIST convnet", model.summary()
MNIST_CONVNET = [
    ("Conv2D", (26, 26, 32), 320, 0),
    ("MaxPooling2D", (13, 13, 32), 0, 0),
    ("Conv2D", (11, 11, 64), 18_496, 0),
    ("MaxPooling2D", (5, 5, 64), 0, 0),
    ("Flatten", (1600,), 0, 0),
    ("Dropout", (1600,), 0, 0),
    ("Dense", (10,), 16_010, 0),
]

LENET5 = [
    ("Conv2D", (28, 28, 6), 156, 0),  # C1
    ("AveragePooling2D", (14, 14, 6), 0, 0),  # S2
    ("Conv2D", (10, 10, 16), 2_416, 0),  # C3
    ("AveragePooling2D", (5, 5, 16), 0, 0),  # S4
    ("Conv2D", (1, 1, 120), 48_120, 0),  # C5
    ("Flatten", (120,), 0, 0),
    ("Dense", (84,), 10_164, 0),  # F6
    ("Dense", (10,), 850, 0),  # output
]

# torchvision AlexNet (torchinfo's table, in channels-last order)
ALEXNET = [
    ("Conv2D", (55, 55, 64), 23_296, 0),
    ("MaxPooling2D", (27, 27, 64), 0, 0),
    ("Conv2D", (27, 27, 192), 307_392, 0),
    ("MaxPooling2D", (13, 13, 192), 0, 0),
    ("Conv2D", (13, 13, 384), 663_936, 0),
    ("Conv2D", (13, 13, 256), 884_992, 0),
    ("Conv2D", (13, 13, 256), 590_080, 0),
    ("MaxPooling2D", (6, 6, 256), 0, 0),
    ("Flatten", (9216,), 0, 0),
    ("Dropout", (9216,), 0, 0),
    ("Dense", (4096,), 37_752_832, 0),
    ("Dropout", (4096,), 0, 0),
    ("Dense", (4096,), 16_781_312, 0),
    ("Dense", (1000,), 4_097_000, 0),
]

# keras.applications.VGG16(include_top=True), model.summary()
VGG16 = [
    ("Conv2D", (224, 224, 64), 1_792, 0),  # block1_conv1
    ("Conv2D", (224, 224, 64), 36_928, 0),  # block1_conv2
    ("MaxPooling2D", (112, 112, 64), 0, 0),  # block1_pool
    ("Conv2D", (112, 112, 128), 73_856, 0),  # block2_conv1
    ("Conv2D", (112, 112, 128), 147_584, 0),  # block2_conv2
    ("MaxPooling2D", (56, 56, 128), 0, 0),  # block2_pool
    ("Conv2D", (56, 56, 256), 295_168, 0),  # block3_conv1
    ("Conv2D", (56, 56, 256), 590_080, 0),  # block3_conv2
    ("Conv2D", (56, 56, 256), 590_080, 0),  # block3_conv3
    ("MaxPooling2D", (28, 28, 256), 0, 0),  # block3_pool
    ("Conv2D", (28, 28, 512), 1_180_160, 0),  # block4_conv1
    ("Conv2D", (28, 28, 512), 2_359_808, 0),  # block4_conv2
    ("Conv2D", (28, 28, 512), 2_359_808, 0),  # block4_conv3
    ("MaxPooling2D", (14, 14, 512), 0, 0),  # block4_pool
    ("Conv2D", (14, 14, 512), 2_359_808, 0),  # block5_conv1
    ("Conv2D", (14, 14, 512), 2_359_808, 0),  # block5_conv2
    ("Conv2D", (14, 14, 512), 2_359_808, 0),  # block5_conv3
    ("MaxPooling2D", (7, 7, 512), 0, 0),  # block5_pool
    ("Flatten", (25088,), 0, 0),  # flatten
    ("Dense", (4096,), 102_764_544, 0),  # fc1
    ("Dense", (4096,), 16_781_312, 0),  # fc2
    ("Dense", (1000,), 4_097_000, 0),  # predictions
]

# Per-layer MACs of VGG16: out_h * out_w * filters * (3 * 3 * in_channels), then in * out for Dense.
VGG16_MACS = [
    224 * 224 * 64 * 9 * 3,  # 86,704,128
    224 * 224 * 64 * 9 * 64,  # 1,849,688,064
    0,
    112 * 112 * 128 * 9 * 64,  # 924,844,032
    112 * 112 * 128 * 9 * 128,  # 1,849,688,064
    0,
    56 * 56 * 256 * 9 * 128,  # 924,844,032
    56 * 56 * 256 * 9 * 256,  # 1,849,688,064
    56 * 56 * 256 * 9 * 256,
    0,
    28 * 28 * 512 * 9 * 256,  # 924,844,032
    28 * 28 * 512 * 9 * 512,  # 1,849,688,064
    28 * 28 * 512 * 9 * 512,
    0,
    14 * 14 * 512 * 9 * 512,  # 462,422,016
    14 * 14 * 512 * 9 * 512,
    14 * 14 * 512 * 9 * 512,
    0,
    0,
    25088 * 4096,  # 102,760,448
    4096 * 4096,  # 16,777,216
    4096 * 1000,  # 4,096,000
]

# keras examples/cifar10_cnn.py, model.summary()
CIFAR10_SMALL = [
    ("Conv2D", (32, 32, 32), 896, 0),
    ("Activation", (32, 32, 32), 0, 0),
    ("Conv2D", (30, 30, 32), 9_248, 0),
    ("Activation", (30, 30, 32), 0, 0),
    ("MaxPooling2D", (15, 15, 32), 0, 0),
    ("Dropout", (15, 15, 32), 0, 0),
    ("Conv2D", (15, 15, 64), 18_496, 0),
    ("Activation", (15, 15, 64), 0, 0),
    ("Conv2D", (13, 13, 64), 36_928, 0),
    ("Activation", (13, 13, 64), 0, 0),
    ("MaxPooling2D", (6, 6, 64), 0, 0),
    ("Dropout", (6, 6, 64), 0, 0),
    ("Flatten", (2304,), 0, 0),
    ("Dense", (512,), 1_180_160, 0),
    ("Activation", (512,), 0, 0),
    ("Dropout", (512,), 0, 0),
    ("Dense", (10,), 5_130, 0),
    ("Activation", (10,), 0, 0),
]

EDGES_DEMO = [
    ("Conv2D", (64, 64, 8), 72, 0),
    ("ReLU", (64, 64, 8), 0, 0),
    ("MaxPooling2D", (32, 32, 8), 0, 0),
]

# keras.applications.MobileNet(alpha=1.0, include_top=True), model.summary(), from conv1 on:
# each BatchNormalization has 4 * channels params, half of them (moving mean/variance) non-trainable.
# The top's Reshape((1000,)) is the preset's Flatten.
MOBILENET_V1 = [
    ("Conv2D", (112, 112, 32), 864, 0),  # conv1
    ("BatchNormalization", (112, 112, 32), 128, 64),  # conv1_bn
    ("ReLU", (112, 112, 32), 0, 0),  # conv1_relu
    ("DepthwiseConv2D", (112, 112, 32), 288, 0),  # conv_dw_1
    ("BatchNormalization", (112, 112, 32), 128, 64),  # conv_dw_1_bn
    ("ReLU", (112, 112, 32), 0, 0),  # conv_dw_1_relu
    ("Conv2D", (112, 112, 64), 2_048, 0),  # conv_pw_1
    ("BatchNormalization", (112, 112, 64), 256, 128),  # conv_pw_1_bn
    ("ReLU", (112, 112, 64), 0, 0),  # conv_pw_1_relu
    ("ZeroPadding2D", (113, 113, 64), 0, 0),  # conv_pad_2
    ("DepthwiseConv2D", (56, 56, 64), 576, 0),  # conv_dw_2
    ("BatchNormalization", (56, 56, 64), 256, 128),  # conv_dw_2_bn
    ("ReLU", (56, 56, 64), 0, 0),  # conv_dw_2_relu
    ("Conv2D", (56, 56, 128), 8_192, 0),  # conv_pw_2
    ("BatchNormalization", (56, 56, 128), 512, 256),  # conv_pw_2_bn
    ("ReLU", (56, 56, 128), 0, 0),  # conv_pw_2_relu
    ("DepthwiseConv2D", (56, 56, 128), 1_152, 0),  # conv_dw_3
    ("BatchNormalization", (56, 56, 128), 512, 256),  # conv_dw_3_bn
    ("ReLU", (56, 56, 128), 0, 0),  # conv_dw_3_relu
    ("Conv2D", (56, 56, 128), 16_384, 0),  # conv_pw_3
    ("BatchNormalization", (56, 56, 128), 512, 256),  # conv_pw_3_bn
    ("ReLU", (56, 56, 128), 0, 0),  # conv_pw_3_relu
    ("ZeroPadding2D", (57, 57, 128), 0, 0),  # conv_pad_4
    ("DepthwiseConv2D", (28, 28, 128), 1_152, 0),  # conv_dw_4
    ("BatchNormalization", (28, 28, 128), 512, 256),  # conv_dw_4_bn
    ("ReLU", (28, 28, 128), 0, 0),  # conv_dw_4_relu
    ("Conv2D", (28, 28, 256), 32_768, 0),  # conv_pw_4
    ("BatchNormalization", (28, 28, 256), 1_024, 512),  # conv_pw_4_bn
    ("ReLU", (28, 28, 256), 0, 0),  # conv_pw_4_relu
    ("DepthwiseConv2D", (28, 28, 256), 2_304, 0),  # conv_dw_5
    ("BatchNormalization", (28, 28, 256), 1_024, 512),  # conv_dw_5_bn
    ("ReLU", (28, 28, 256), 0, 0),  # conv_dw_5_relu
    ("Conv2D", (28, 28, 256), 65_536, 0),  # conv_pw_5
    ("BatchNormalization", (28, 28, 256), 1_024, 512),  # conv_pw_5_bn
    ("ReLU", (28, 28, 256), 0, 0),  # conv_pw_5_relu
    ("ZeroPadding2D", (29, 29, 256), 0, 0),  # conv_pad_6
    ("DepthwiseConv2D", (14, 14, 256), 2_304, 0),  # conv_dw_6
    ("BatchNormalization", (14, 14, 256), 1_024, 512),  # conv_dw_6_bn
    ("ReLU", (14, 14, 256), 0, 0),  # conv_dw_6_relu
    ("Conv2D", (14, 14, 512), 131_072, 0),  # conv_pw_6
    ("BatchNormalization", (14, 14, 512), 2_048, 1_024),  # conv_pw_6_bn
    ("ReLU", (14, 14, 512), 0, 0),  # conv_pw_6_relu
    ("DepthwiseConv2D", (14, 14, 512), 4_608, 0),  # conv_dw_7
    ("BatchNormalization", (14, 14, 512), 2_048, 1_024),  # conv_dw_7_bn
    ("ReLU", (14, 14, 512), 0, 0),  # conv_dw_7_relu
    ("Conv2D", (14, 14, 512), 262_144, 0),  # conv_pw_7
    ("BatchNormalization", (14, 14, 512), 2_048, 1_024),  # conv_pw_7_bn
    ("ReLU", (14, 14, 512), 0, 0),  # conv_pw_7_relu
    ("DepthwiseConv2D", (14, 14, 512), 4_608, 0),  # conv_dw_8
    ("BatchNormalization", (14, 14, 512), 2_048, 1_024),  # conv_dw_8_bn
    ("ReLU", (14, 14, 512), 0, 0),  # conv_dw_8_relu
    ("Conv2D", (14, 14, 512), 262_144, 0),  # conv_pw_8
    ("BatchNormalization", (14, 14, 512), 2_048, 1_024),  # conv_pw_8_bn
    ("ReLU", (14, 14, 512), 0, 0),  # conv_pw_8_relu
    ("DepthwiseConv2D", (14, 14, 512), 4_608, 0),  # conv_dw_9
    ("BatchNormalization", (14, 14, 512), 2_048, 1_024),  # conv_dw_9_bn
    ("ReLU", (14, 14, 512), 0, 0),  # conv_dw_9_relu
    ("Conv2D", (14, 14, 512), 262_144, 0),  # conv_pw_9
    ("BatchNormalization", (14, 14, 512), 2_048, 1_024),  # conv_pw_9_bn
    ("ReLU", (14, 14, 512), 0, 0),  # conv_pw_9_relu
    ("DepthwiseConv2D", (14, 14, 512), 4_608, 0),  # conv_dw_10
    ("BatchNormalization", (14, 14, 512), 2_048, 1_024),  # conv_dw_10_bn
    ("ReLU", (14, 14, 512), 0, 0),  # conv_dw_10_relu
    ("Conv2D", (14, 14, 512), 262_144, 0),  # conv_pw_10
    ("BatchNormalization", (14, 14, 512), 2_048, 1_024),  # conv_pw_10_bn
    ("ReLU", (14, 14, 512), 0, 0),  # conv_pw_10_relu
    ("DepthwiseConv2D", (14, 14, 512), 4_608, 0),  # conv_dw_11
    ("BatchNormalization", (14, 14, 512), 2_048, 1_024),  # conv_dw_11_bn
    ("ReLU", (14, 14, 512), 0, 0),  # conv_dw_11_relu
    ("Conv2D", (14, 14, 512), 262_144, 0),  # conv_pw_11
    ("BatchNormalization", (14, 14, 512), 2_048, 1_024),  # conv_pw_11_bn
    ("ReLU", (14, 14, 512), 0, 0),  # conv_pw_11_relu
    ("ZeroPadding2D", (15, 15, 512), 0, 0),  # conv_pad_12
    ("DepthwiseConv2D", (7, 7, 512), 4_608, 0),  # conv_dw_12
    ("BatchNormalization", (7, 7, 512), 2_048, 1_024),  # conv_dw_12_bn
    ("ReLU", (7, 7, 512), 0, 0),  # conv_dw_12_relu
    ("Conv2D", (7, 7, 1024), 524_288, 0),  # conv_pw_12
    ("BatchNormalization", (7, 7, 1024), 4_096, 2_048),  # conv_pw_12_bn
    ("ReLU", (7, 7, 1024), 0, 0),  # conv_pw_12_relu
    ("DepthwiseConv2D", (7, 7, 1024), 9_216, 0),  # conv_dw_13
    ("BatchNormalization", (7, 7, 1024), 4_096, 2_048),  # conv_dw_13_bn
    ("ReLU", (7, 7, 1024), 0, 0),  # conv_dw_13_relu
    ("Conv2D", (7, 7, 1024), 1_048_576, 0),  # conv_pw_13
    ("BatchNormalization", (7, 7, 1024), 4_096, 2_048),  # conv_pw_13_bn
    ("ReLU", (7, 7, 1024), 0, 0),  # conv_pw_13_relu
    ("GlobalAveragePooling2D", (1, 1, 1024), 0, 0),  # global_average_pooling2d
    ("Dropout", (1, 1, 1024), 0, 0),  # dropout
    ("Conv2D", (1, 1, 1000), 1_025_000, 0),  # conv_preds
    ("Flatten", (1000,), 0, 0),  # reshape_2 (Reshape)
    ("Activation", (1000,), 0, 0),  # predictions
]

# The residual block of residual-demo: conv2d, conv2d_1 (padding "same"), projection (1x1), add.
RESIDUAL_DEMO = [
    ("Conv2D", (26, 26, 32), 320, 0),
    ("Conv2D", (26, 26, 64), 18_496, 0),
    ("Conv2D", (26, 26, 64), 2_112, 0),
    ("Add", (26, 26, 64), 0, 0),
]

# Squeeze-and-excitation on a 32x32x64 map, reduction 4.
SE_BLOCK = [
    ("Conv2D", (32, 32, 64), 1_792, 0),  # conv
    ("GlobalAveragePooling2D", (1, 1, 64), 0, 0),  # se_squeeze (keepdims)
    ("Conv2D", (1, 1, 16), 1_040, 0),  # se_reduce
    ("Conv2D", (1, 1, 64), 1_088, 0),  # se_expand
    ("Multiply", (32, 32, 64), 0, 0),  # se_excite
]

# GoogLeNet inception (3a), Table 1 of Szegedy et al. 2014.
INCEPTION_MODULE = [
    ("Conv2D", (28, 28, 64), 12_352, 0),  # 1x1
    ("Conv2D", (28, 28, 96), 18_528, 0),  # 3x3 reduce
    ("Conv2D", (28, 28, 128), 110_720, 0),  # 3x3
    ("Conv2D", (28, 28, 16), 3_088, 0),  # 5x5 reduce
    ("Conv2D", (28, 28, 32), 12_832, 0),  # 5x5
    ("MaxPooling2D", (28, 28, 192), 0, 0),  # pool
    ("Conv2D", (28, 28, 32), 6_176, 0),  # pool proj
    ("Concatenate", (28, 28, 256), 0, 0),  # output
]

UNET_SMALL = [
    ("Conv2D", (64, 64, 16), 160, 0),  # enc1
    ("Conv2D", (64, 64, 16), 2_320, 0),
    ("MaxPooling2D", (32, 32, 16), 0, 0),
    ("Conv2D", (32, 32, 32), 4_640, 0),  # enc2
    ("Conv2D", (32, 32, 32), 9_248, 0),
    ("MaxPooling2D", (16, 16, 32), 0, 0),
    ("Conv2D", (16, 16, 64), 18_496, 0),  # enc3
    ("Conv2D", (16, 16, 64), 36_928, 0),
    ("MaxPooling2D", (8, 8, 64), 0, 0),
    ("Conv2D", (8, 8, 128), 73_856, 0),  # bottleneck
    ("Conv2D", (8, 8, 128), 147_584, 0),
    ("Conv2DTranspose", (16, 16, 64), 32_832, 0),  # dec3
    ("Concatenate", (16, 16, 128), 0, 0),
    ("Conv2D", (16, 16, 64), 73_792, 0),
    ("Conv2D", (16, 16, 64), 36_928, 0),
    ("Conv2DTranspose", (32, 32, 32), 8_224, 0),  # dec2
    ("Concatenate", (32, 32, 64), 0, 0),
    ("Conv2D", (32, 32, 32), 18_464, 0),
    ("Conv2D", (32, 32, 32), 9_248, 0),
    ("Conv2DTranspose", (64, 64, 16), 2_064, 0),  # dec1
    ("Concatenate", (64, 64, 32), 0, 0),
    ("Conv2D", (64, 64, 16), 4_624, 0),
    ("Conv2D", (64, 64, 16), 2_320, 0),
    ("Conv2D", (64, 64, 1), 17, 0),  # output
]

PER_LAYER = {
    "seed-28x28x1": SEED_28X28X1,
    "seed-28x28x3-5x5": SEED_28X28X3_5X5,
    "mnist-convnet": MNIST_CONVNET,
    "lenet5": LENET5,
    "alexnet": ALEXNET,
    "vgg16": VGG16,
    "mobilenet-v1": MOBILENET_V1,
    "cifar10-small": CIFAR10_SMALL,
    "edges-demo": EDGES_DEMO,
    "residual-demo": RESIDUAL_DEMO,
    "se-block": SE_BLOCK,
    "inception-module": INCEPTION_MODULE,
    "unet-small": UNET_SMALL,
}


def summary_rows_of(stack: Stack) -> list[tuple[str, tuple[int, ...], int, int]]:
    return [
        (layer.layer.type_name, tuple(layer.output_shape), layer.params, layer.non_trainable_params)
        for layer in stack.infer().layers
    ]


def summary_rows(name: str) -> list[tuple[str, tuple[int, ...], int, int]]:
    return summary_rows_of(load_preset(name))


def test_every_published_preset_is_built_in() -> None:
    assert set(PUBLISHED_TOTALS) <= set(builtin_preset_names())


def test_tables_add_up_to_the_published_totals() -> None:
    """The expected per-layer tables are consistent with the published totals (checks this file)."""
    for name, rows in PER_LAYER.items():
        total, trainable, non_trainable = PUBLISHED_TOTALS[name]
        assert sum(row[2] for row in rows) == total, name
        assert sum(row[3] for row in rows) == non_trainable, name
        assert total - non_trainable == trainable, name
    assert sum(VGG16_MACS) == PUBLISHED_MACS["vgg16"] == 15_470_264_320


@pytest.mark.parametrize("name", sorted(PUBLISHED_TOTALS))
def test_preset_file_is_well_formed(name: str) -> None:
    document = tomllib.loads((PRESETS_FOLDER / f"{name}.toml").read_text(encoding="utf-8"))
    assert document["name"] == name
    assert isinstance(document["description"], str) and document["description"].strip()
    assert len(document["input_shape"]) == 3
    assert document["layers"]


@pytest.mark.parametrize("name", sorted(PUBLISHED_TOTALS))
def test_totals_equal_the_published_summary(name: str) -> None:
    info = load_preset(name).infer()
    assert info.valid
    assert (info.total_params, info.trainable_params, info.non_trainable_params) == PUBLISHED_TOTALS[name]


@pytest.mark.parametrize("name", sorted(PUBLISHED_MACS))
def test_total_macs(name: str) -> None:
    assert load_preset(name).infer().total_macs == PUBLISHED_MACS[name]


@pytest.mark.parametrize("name", sorted(PER_LAYER))
def test_per_layer_shapes_and_params_equal_the_summary(name: str) -> None:
    assert summary_rows(name) == PER_LAYER[name]


def test_input_shapes() -> None:
    expected = {
        "seed-28x28x1": (28, 28, 1),
        "seed-28x28x3-5x5": (28, 28, 3),
        "mnist-convnet": (28, 28, 1),
        "lenet5": (32, 32, 1),
        "alexnet": (224, 224, 3),
        "vgg16": (224, 224, 3),
        "mobilenet-v1": (224, 224, 3),
        "cifar10-small": (32, 32, 3),
        "edges-demo": (64, 64, 1),
        "resnet50": (224, 224, 3),
        "resnet18": (224, 224, 3),
        "mobilenet-v2": (224, 224, 3),
        "unet-small": (64, 64, 1),
        "inception-module": (28, 28, 192),
        "se-block": (32, 32, 3),
        "residual-demo": (28, 28, 1),
    }
    for name, shape in expected.items():
        assert tuple(load_preset(name).infer().input_shape) == shape, name


def test_seed_weights_and_macs() -> None:
    info = load_preset("seed-28x28x1").infer()
    first, second = ([(w.name, w.shape, w.trainable) for w in layer.weights] for layer in info.layers)
    assert first == [("kernel", (3, 3, 1, 32), True), ("bias", (32,), True)]
    assert second == [("kernel", (3, 3, 32, 64), True), ("bias", (64,), True)]
    assert [layer.macs for layer in info.layers] == [26 * 26 * 32 * 9, 24 * 24 * 64 * 9 * 32]
    assert info.total_macs == 10_811_520


def test_seed_5x5_has_no_bias() -> None:
    info = load_preset("seed-28x28x3-5x5").infer()
    assert [[(w.name, w.shape) for w in layer.weights] for layer in info.layers] == [
        [("kernel", (5, 5, 3, 32))],
        [("kernel", (5, 5, 32, 64))],
    ]
    assert [layer.macs for layer in info.layers] == [1_382_400, 20_480_000]


def test_vgg16_macs_per_layer() -> None:
    info = load_preset("vgg16").infer()
    assert [layer.macs for layer in info.layers] == VGG16_MACS
    assert info.total_macs == 15_470_264_320


def test_vgg16_weights() -> None:
    info = load_preset("vgg16").infer()
    assert [(w.name, w.shape) for w in info.layers[0].weights] == [("kernel", (3, 3, 3, 64)), ("bias", (64,))]
    assert [(w.name, w.shape) for w in info.layers[19].weights] == [("kernel", (25088, 4096)), ("bias", (4096,))]
    assert [(w.name, w.shape) for w in info.layers[21].weights] == [("kernel", (4096, 1000)), ("bias", (1000,))]


def test_mobilenet_weights() -> None:
    info = load_preset("mobilenet-v1").infer()
    conv1, conv1_bn, _relu, conv_dw_1 = info.layers[:4]
    assert [(w.name, w.shape, w.trainable) for w in conv1.weights] == [("kernel", (3, 3, 3, 32), True)]
    assert [(w.name, w.shape, w.trainable) for w in conv1_bn.weights] == [
        ("gamma", (32,), True),
        ("beta", (32,), True),
        ("moving_mean", (32,), False),
        ("moving_variance", (32,), False),
    ]
    assert [(w.name, w.shape) for w in conv_dw_1.weights] == [("kernel", (3, 3, 32, 1))]
    conv_preds = info.layers[-3]
    assert [(w.name, w.shape) for w in conv_preds.weights] == [("kernel", (1, 1, 1024, 1000)), ("bias", (1000,))]
    assert tuple(info.layers[-1].output_shape) == (1000,)


def test_mobilenet_uses_relu6_and_bias_free_convolutions() -> None:
    stack = load_preset("mobilenet-v1")
    relus = [layer for layer in stack.layers if layer.type_name == "ReLU"]
    assert len(relus) == 27 and all(layer.max_value == 6.0 for layer in relus)
    convs = [layer for layer in stack.layers if layer.type_name in ("Conv2D", "DepthwiseConv2D")]
    assert [layer.use_bias for layer in convs] == [False] * 27 + [True]  # only conv_preds has a bias
    assert sum(layer.type_name == "ZeroPadding2D" for layer in stack.layers) == 4


def test_alexnet_uses_explicit_padding() -> None:
    stack = load_preset("alexnet")
    convs = [layer for layer in stack.layers if layer.type_name == "Conv2D"]
    assert [layer.kernel_size for layer in convs] == [(11, 11), (5, 5), (3, 3), (3, 3), (3, 3)]
    assert convs[0].strides == (4, 4)


def test_edges_demo_uses_the_edge_bank() -> None:
    stack = load_preset("edges-demo")
    assert stack.layers[0].kernel_initializer == "edges"
    assert stack.layers[0].padding == "same"


@pytest.mark.parametrize("name", sorted(PUBLISHED_TOTALS))
def test_saving_a_preset_gives_back_the_same_stack(name: str) -> None:
    """What the app saves reloads unchanged: e.g. MobileNet's asymmetric ((0, 1), (0, 1)) padding."""
    stack = load_preset(name)
    again = parse_preset(preset_text(stack), f"{name}.toml")
    assert again.layers == stack.layers
    assert again.input_shape == stack.input_shape
    assert summary_rows_of(again) == summary_rows_of(stack)


@pytest.mark.parametrize(
    ("name", "count"),
    [("vgg16", 32), ("mobilenet-v1", 137), ("alexnet", 16), ("resnet50", 320), ("mobilenet-v2", 262), ("resnet18", 102)],
)
def test_number_of_weight_tensors(name: str, count: int) -> None:
    """len(model.weights): 137 for Keras's MobileNet, 32 for VGG16, 16 for torchvision's AlexNet, 320 for
    Keras's ResNet50, 262 for its MobileNetV2; torchvision's ResNet-18 has 62 parameters and 2 * 20
    running statistics (its state_dict's 122 entries less 20 num_batches_tracked).
    """
    info = load_preset(name).infer()
    assert sum(len(layer.weights) for layer in info.layers) == count
