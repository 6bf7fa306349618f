"""``AttentionMixClassifier``: mixed training batches relabelled by the
class token's attention (TransMix, Chen et al., CVPR 2022, generalised to
any keep mask; docs/design.md, "Attention-weighted labels").

One line of config on top of a ViT config with a batch augment::

    model = dict(type='AttentionMixClassifier')            # ratio=0.5

The data preprocessor records each mixing (``TwoViewClsDataPreprocessor``
with ``record_mix=True``; a ``ClsDataPreprocessor`` config becomes one,
which treats one-view batches exactly as ``ClsDataPreprocessor`` does) and
hands the record to the loss in the data samples
(:mod:`.sample_records`). In the training forward the class token's
attention of the last layer is read (:mod:`.vit_attention`) and the targets
become :func:`mmmiamix.core.attention_targets`; the head's loss then takes
them as it takes any soft scores. Unmixed batches (mixing off, the identity
of ``RandomBatchAugment``, no augment), validation, testing and
checkpoints are exactly ``ImageClassifier``'s.
"""
from typing import List, Optional

import torch
from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.models.utils import ClsDataPreprocessor
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from torch import nn

from ..core import attention_targets
from ..core.attention import DEFAULT_RATIO, check_ratio
from .data_preprocessor import TwoViewClsDataPreprocessor
from .recorded_mixes import check_recordable
from .sample_records import collect_record
from .vit_attention import (
    check_backbone,
    check_tiling,
    reading_class_attention,
)

_NAME = 'AttentionMixClassifier'


def _recording_preprocessor(cfg):
    """The data preprocessor (config): a ``ClsDataPreprocessor`` config
    becomes a ``TwoViewClsDataPreprocessor`` one; anything but these two
    raises a TypeError naming it."""
    if cfg is None:
        cfg = {}
    if isinstance(cfg, nn.Module):
        kind = type(cfg)
    elif isinstance(cfg, dict):
        cfg = dict(cfg)
        given = cfg.get('type', 'ClsDataPreprocessor')
        kind = MODELS.get(given) if isinstance(given, str) else given
        if kind is ClsDataPreprocessor:
            cfg['type'] = kind = TwoViewClsDataPreprocessor
    else:
        return cfg  # ImageClassifier names it
    if not (isinstance(kind, type) and
            issubclass(kind, TwoViewClsDataPreprocessor)):
        name = getattr(kind, '__name__', None) or repr(given)
        raise TypeError(f'{_NAME} needs a ClsDataPreprocessor (config) or a '
                        f'TwoViewClsDataPreprocessor, got {name}')
    return cfg


@MODELS.register_module()
class AttentionMixClassifier(ImageClassifier):
    """``ImageClassifier`` whose mixed batches get attention-weighted labels.

    The base label weight of every mixed sample becomes ``ratio · w_area +
    (1 − ratio) · w_attn``, ``w_attn`` the share of the class token's
    attention (last layer, mean over heads) on the patches the sample
    keeps. Works with mmpretrain's ``Mixup`` and ``CutMix`` (TransMix) and
    every augment of this project, on one view and two; the backbone must
    be a ``VisionTransformer`` (or ``DistilledVisionTransformer``) with a
    class token, and training images a whole number of patches.

    Args:
        ratio (float): the area weight's share in [0, 1]. Default 0.5
            (TransMix); 1 gives the augment's own labels.
        backbone, neck, head, pretrained, train_cfg, data_preprocessor,
        init_cfg: as for ``ImageClassifier``; ``data_preprocessor`` must be
            a ``ClsDataPreprocessor`` (config) or a
            ``TwoViewClsDataPreprocessor``.
    """

    def __init__(self, backbone: dict, neck: Optional[dict] = None,
                 head: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 train_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 ratio: float = DEFAULT_RATIO):
        ratio = check_ratio(ratio)
        super().__init__(backbone, neck=neck, head=head,
                         pretrained=pretrained, train_cfg=train_cfg,
                         data_preprocessor=_recording_preprocessor(
                             data_preprocessor),
                         init_cfg=init_cfg)
        check_backbone(self.backbone, _NAME)
        pre = self.data_preprocessor
        for aug in getattr(pre.batch_augments, 'augments', ()):
            check_recordable(aug, _NAME)
        pre.record_mix = True
        self.ratio = ratio

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> dict:
        """``ImageClassifier.loss``; a mixed batch's targets are first
        weighted by the class token's attention of this forward."""
        found = collect_record(data_samples)
        if found is None:
            return super().loss(inputs, data_samples)
        record, label_smoothing = found
        with reading_class_attention(self.backbone) as seen:
            feats = self.extract_feat(inputs)
        if seen.attn is None:
            raise RuntimeError(f'{_NAME}: the forward of '
                               f'{type(self.backbone).__name__} did not run '
                               'its last layer\'s attention')
        check_tiling(inputs, seen.grid, self.backbone)
        targets = attention_targets(record, seen.attn, ratio=self.ratio,
                                    label_smoothing=label_smoothing,
                                    grid=seen.grid)
        for sample, target in zip(data_samples, targets):
            sample.set_gt_score(target)
        return self.head.loss(feats, data_samples)
