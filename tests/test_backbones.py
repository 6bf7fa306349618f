"""ResNeXt_CIFAR: ResNeXt with the CIFAR stem."""
import pytest
import torch
import torch.nn as nn
from mmpretrain.registry import MODELS

import mmmiamix  # noqa: F401  (registers ResNeXt_CIFAR)
from mmmiamix.models.backbones import ResNeXt_CIFAR


def test_registered():
    assert MODELS.get('ResNeXt_CIFAR') is ResNeXt_CIFAR


def test_resnext50_cifar_stem_and_output_shape():
    model = MODELS.build(dict(type='ResNeXt_CIFAR', depth=50))
    # CIFAR stem: one 3x3 stride-1 conv, no max-pool anywhere.
    assert isinstance(model.conv1, nn.Conv2d)
    assert model.conv1.kernel_size == (3, 3)
    assert model.conv1.stride == (1, 1)
    assert model.conv1.padding == (1, 1)
    assert model.conv1.in_channels == 3 and model.conv1.out_channels == 64
    assert not hasattr(model, 'maxpool')
    assert not any(isinstance(m, nn.MaxPool2d) for m in model.modules())
    # 32x4d grouped convolutions.
    assert model.layer1[0].conv2.groups == 32
    assert model.layer1[0].conv2.out_channels == 128
    model.eval()
    with torch.no_grad():
        outs = model(torch.rand(2, 3, 32, 32))
    assert isinstance(outs, tuple) and len(outs) == 1
    # 32 -> 32 (stage 1) -> 16 -> 8 -> 4: only the stage strides downsample.
    assert outs[0].shape == (2, 2048, 4, 4)


def test_out_indices_and_backward():
    model = ResNeXt_CIFAR(depth=50, out_indices=(0, 1, 2, 3))
    outs = model(torch.rand(2, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [(2, 256, 32, 32),
                                             (2, 512, 16, 16),
                                             (2, 1024, 8, 8),
                                             (2, 2048, 4, 4)]
    outs[-1].mean().backward()
    assert model.conv1.weight.grad is not None


def test_deep_stem_rejected():
    with pytest.raises(ValueError, match='deep_stem'):
        ResNeXt_CIFAR(depth=50, deep_stem=True)
