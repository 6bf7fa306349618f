"""Models layer: batch augments, data preprocessors and backbones."""
from .backbones import ResNeXt_CIFAR
from .batch_augments import AGMix, FMix, GMix, GridMix, MiAMix, SaliencyMix
from .data_preprocessor import TwoViewClsDataPreprocessor

__all__ = [
    'AGMix', 'FMix', 'GMix', 'GridMix', 'MiAMix', 'ResNeXt_CIFAR',
    'SaliencyMix',
    'TwoViewClsDataPreprocessor'
]
