"""Models layer: batch augments, data preprocessors, backbones and the
attention-weighted-label classifier."""
from .attention_labels import AttentionMixClassifier
from .backbones import ResNeXt_CIFAR
from .batch_augments import AGMix, FMix, GMix, GridMix, MiAMix, SaliencyMix
from .data_preprocessor import TwoViewClsDataPreprocessor

__all__ = [
    'AGMix', 'AttentionMixClassifier', 'FMix', 'GMix', 'GridMix', 'MiAMix',
    'ResNeXt_CIFAR', 'SaliencyMix',
    'TwoViewClsDataPreprocessor'
]
