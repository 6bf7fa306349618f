"""The data preprocessor of the paper-faithful two-view path.

See docs/design.md.
"""
import inspect
from typing import List

import numpy as np
import torch
from mmpretrain.models.utils import ClsDataPreprocessor
from mmpretrain.registry import MODELS

from .recorded_mixes import mix_recorded
from .sample_records import attach_record


def _split_views(inputs):
    """The two views of a batch, or None for a one-view batch.

    ``MultiView(num_views=2)`` + ``PackInputs`` gives per sample a list of two
    images; mmengine's collate functions transpose it: ``default_collate``
    into two ``(B, C, H, W)`` tensors, ``pseudo_collate`` into two lists of
    ``B`` images. A one-view batch is a tensor or a list of 3-D images.
    """
    if not isinstance(inputs, (list, tuple)) or len(inputs) == 0:
        return None
    first = inputs[0]
    if isinstance(first, torch.Tensor) and first.dim() == 3:
        return None  # pseudo_collate of one view: a list of images
    if len(inputs) != 2:
        raise ValueError('TwoViewClsDataPreprocessor needs exactly 2 views '
                         f'(MultiView num_views=2), got {len(inputs)}')
    return list(inputs)


@MODELS.register_module()
class TwoViewClsDataPreprocessor(ClsDataPreprocessor):
    """``ClsDataPreprocessor`` that also accepts two views of each image.

    With a train pipeline ending in ``dict(type='MultiView', num_views=2,
    transforms=[[...]])`` and ``PackInputs``, both views are normalised (and
    converted, padded) alike; in training the batch augment mixes the first
    view with partners taken from the second view: ``aug(view1, scores,
    second_view=view2)`` for augments that accept ``second_view`` (MiAMix),
    plain ``aug(view1, scores)`` for the others. Only the first view goes on
    to the model. One-view batches behave exactly as in the parent class.

    With ``record_mix=True`` (set by ``AttentionMixClassifier``) each mixed
    training batch also hands its :class:`~mmmiamix.core.MixRecord` to the
    loss in the data samples (a ``mix_record`` field,
    :mod:`.sample_records`); the augment is picked and called with the same
    random draws (numpy's choice among the augments for one view, as
    ``RandomBatchAugment`` does), so images and scores are unchanged.

    Args:
        record_mix (bool): record each mixing in the data samples. Default
            False.
        **kwargs: those of ``ClsDataPreprocessor``.
    """

    def __init__(self, *args, record_mix: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not isinstance(record_mix, bool):
            raise TypeError(f'record_mix must be a bool, got {record_mix!r}')
        self.record_mix = record_mix

    def forward(self, data: dict, training: bool = False) -> dict:
        views = _split_views(data['inputs'])
        record = self.record_mix and training
        if views is None and not record:
            return super().forward(data, training)
        first_data = data if views is None else dict(
            inputs=views[0], data_samples=data.get('data_samples'))
        augment, self.batch_augments = self.batch_augments, None
        try:
            first = super().forward(first_data, training)
            second = None if views is None else super().forward(
                dict(inputs=views[1]), training)['inputs']
        finally:
            self.batch_augments = augment
        samples = first['data_samples']
        if not (training and augment is not None and samples
                and 'gt_score' in samples[0]):
            return first
        scores = torch.stack([s.gt_score for s in samples])
        aug = _pick(augment, numpy=views is None)
        inputs, scores, mix_record, smoothing = _mix(
            aug, first['inputs'], scores, second, record)
        for sample, score in zip(samples, scores):
            sample.set_gt_score(score)
        if mix_record is not None:
            attach_record(samples, mix_record, smoothing)
        return dict(inputs=inputs, data_samples=samples)


def _pick(augment, numpy: bool):
    """One of ``RandomBatchAugment``'s augments (None: its identity), drawn
    as it draws (numpy) for one view, with torch for two; a bare augment
    is itself."""
    augs: List = getattr(augment, 'augments', None)
    if augs is None:
        return augment
    if numpy:
        index = np.random.choice(len(augs), p=augment.probs)
    elif augment.probs is None:
        index = int(torch.randint(len(augs), ()))
    else:
        index = int(torch.multinomial(torch.tensor(augment.probs), 1))
    return augs[index]


def _mix(aug, inputs, scores, second, record: bool):
    """Apply ``aug`` (with the second view where it takes one):
    ``(inputs, scores, MixRecord or None, label smoothing applied)``."""
    if aug is None:
        return inputs, scores.float(), None, 0.0
    if record:
        return mix_recorded(aug, inputs, scores, second)
    if second is not None and \
            'second_view' in inspect.signature(aug.__call__).parameters:
        return (*aug(inputs, scores, second_view=second), None, 0.0)
    return (*aug(inputs, scores), None, 0.0)
