"""Every batch augment's call with its :class:`~mmmiamix.core.MixRecord`
(what attention-weighted labels need after the forward pass).

- this project's augments (MiAMix, MaskMix, FMix, GridMix, GMix, AGMix,
  SaliencyMix): their own ``mix_recorded``, the same call as ``aug(inputs,
  scores)``;
- mmpretrain's ``Mixup`` and ``CutMix`` (together DeiT's recipe and, with
  attention-weighted labels, TransMix): reproduced here with mmpretrain's
  own random calls in its order (``np.random.beta`` for ``lam``,
  ``torch.randperm`` on the CPU for the partners, ``CutMix``'s own
  ``cutmix_bbox_and_lam`` for the box), so a seeded call gives exactly the
  mixed images and scores of mmpretrain's class; numpy here only because
  mmpretrain draws with it.

Other augments (mmpretrain's ``ResizeMix``, a user's class) hand over no
record: :func:`check_recordable` refuses them, naming them.
"""
import inspect
from typing import Optional, Tuple

import numpy as np
import torch
from mmpretrain.models.utils.batch_augments import CutMix, Mixup

from ..core import MixAugment, MixRecord

#: what :func:`mix_recorded` takes, for error messages
RECORDABLE = ("mmpretrain's Mixup and CutMix, and this project's MiAMix, "
              'MaskMix, FMix, GridMix, GMix, AGMix and SaliencyMix')


def recordable(aug) -> bool:
    """Whether :func:`mix_recorded` can record ``aug`` (None, the identity
    of ``RandomBatchAugment``, passes)."""
    return aug is None or isinstance(aug, MixAugment) or \
        type(aug) in (Mixup, CutMix)


def check_recordable(aug, who: str) -> None:
    """Raise a TypeError naming ``aug`` unless it is :func:`recordable`."""
    if not recordable(aug):
        raise TypeError(f'{who} relabels mixed batches from the record of '
                        f'their mixing, which the batch augment '
                        f'{type(aug).__name__} does not hand over; use '
                        f'{RECORDABLE}')


def _mixup(aug: Mixup, inputs: torch.Tensor, scores: torch.Tensor):
    """mmpretrain's ``Mixup.mix``, with its record."""
    lam = np.random.beta(aug.alpha, aug.alpha)
    b = inputs.size(0)
    index = torch.randperm(b)
    mixed = lam * inputs + (1 - lam) * inputs[index, :]
    mixed_scores = lam * scores + (1 - lam) * scores[index, :]
    keep = torch.full((b, 1, 1, 1), float(lam), device=inputs.device)
    return mixed, mixed_scores, keep, index, float(lam)


def _cutmix(aug: CutMix, inputs: torch.Tensor, scores: torch.Tensor):
    """mmpretrain's ``CutMix.mix`` (in place, as there), with its record:
    one box for the whole batch, so ``keep`` is one mask expanded."""
    lam = np.random.beta(aug.alpha, aug.alpha)
    b, (h, w) = inputs.size(0), inputs.shape[-2:]
    index = torch.randperm(b)
    (y1, y2, x1, x2), lam = aug.cutmix_bbox_and_lam((h, w), lam)
    inputs[:, :, y1:y2, x1:x2] = inputs[index, :, y1:y2, x1:x2]
    mixed_scores = lam * scores + (1 - lam) * scores[index, :]
    keep = torch.ones(1, 1, h, w, device=inputs.device)
    keep[:, :, y1:y2, x1:x2] = 0
    return inputs, mixed_scores, keep.expand(b, 1, h, w), index, float(lam)


def mix_recorded(aug, inputs: torch.Tensor, scores: torch.Tensor,
                 second_view: Optional[torch.Tensor] = None
                 ) -> Tuple[torch.Tensor, torch.Tensor, Optional[MixRecord],
                            float]:
    """Mix with ``aug`` and record it.

    Args:
        aug: a :func:`recordable` augment (not None).
        inputs: float ``(B, C, H, W)``.
        scores: ``(B, K)`` one-hot or soft scores.
        second_view: the inputs' second views, for augments taking one.

    Returns:
        ``(mixed, scores, record, label_smoothing)``: the augment's own
        results, its :class:`MixRecord` (None when it mixed nothing) and the
        label smoothing it applied (to apply once again after
        relabelling).
    """
    check_recordable(aug, 'mix_recorded')
    if isinstance(aug, MixAugment):
        kwargs = {} if second_view is None or not _takes_second_view(aug) \
            else dict(second_view=second_view)
        mixed, mixed_scores, record = aug.mix_recorded(inputs, scores,
                                                       **kwargs)
        return mixed, mixed_scores, record, aug.label_smoothing
    if scores.ndim != 2:
        raise ValueError('scores must be one-hot or soft scores (B, K), got '
                         f'shape {tuple(scores.shape)}')
    scores = scores.float()
    mix = _cutmix if type(aug) is CutMix else _mixup
    mixed, mixed_scores, keep, index, lam = mix(aug, inputs, scores)
    b = inputs.size(0)
    record = MixRecord(keep=keep, partner=index.to(inputs.device),
                       weight=torch.full((b, ), lam, device=inputs.device),
                       scores=scores)
    return mixed, mixed_scores, record, 0.0


def _takes_second_view(aug) -> bool:
    return 'second_view' in inspect.signature(aug.__call__).parameters
