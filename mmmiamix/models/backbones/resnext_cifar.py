"""ResNeXt with the CIFAR stem (3x3 conv, stride 1, no max-pool).

mmpretrain ships ``ResNet_CIFAR`` but no CIFAR variant of ``ResNeXt``; the
paper trains ResNeXt-50 (32x4d) on 32x32 CIFAR images, where the ImageNet stem
(7x7 conv stride 2 + max-pool) would throw away three quarters of the pixels
before the first stage.
"""
import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmpretrain.models.backbones import ResNeXt
from mmpretrain.registry import MODELS


@MODELS.register_module()
class ResNeXt_CIFAR(ResNeXt):
    """ResNeXt backbone for small (CIFAR-sized) images.

    Same as mmpretrain's :class:`ResNeXt` (``depth`` in {50, 101, 152},
    ``groups`` and ``width_per_group``, default 32x4d) except for the stem:
    one 3x3 convolution with stride 1 followed by BN and ReLU, and no
    max-pooling, like mmpretrain's ``ResNet_CIFAR`` does for ResNet.

    Args:
        depth (int): Network depth, from {50, 101, 152}.
        groups (int): Groups of the 3x3 conv in each bottleneck. Default 32.
        width_per_group (int): Width per group. Default 4.
        deep_stem (bool): Not supported; must be False.
        **kwargs: Other arguments of :class:`mmpretrain.models.ResNeXt`.
    """

    def __init__(self, depth, groups=32, width_per_group=4, deep_stem=False,
                 **kwargs):
        if deep_stem:
            raise ValueError('ResNeXt_CIFAR does not support deep_stem')
        super().__init__(
            depth,
            groups=groups,
            width_per_group=width_per_group,
            deep_stem=False,
            **kwargs)

    def _make_stem_layer(self, in_channels, stem_channels):
        self.conv1 = build_conv_layer(
            self.conv_cfg,
            in_channels,
            stem_channels,
            kernel_size=3,
            stride=1,
            padding=1,
            bias=False)
        self.norm1_name, norm1 = build_norm_layer(
            self.norm_cfg, stem_channels, postfix=1)
        self.add_module(self.norm1_name, norm1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        x = self.conv1(x)
        x = self.norm1(x)
        x = self.relu(x)
        outs = []
        for i, layer_name in enumerate(self.res_layers):
            x = getattr(self, layer_name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
