"""The data preprocessor of the paper-faithful two-view path.

See docs/design.md.
"""
import inspect
from typing import List

import torch
from mmpretrain.models.utils import ClsDataPreprocessor
from mmpretrain.registry import MODELS


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

    Arguments: those of ``ClsDataPreprocessor``.
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        views = _split_views(data['inputs'])
        if views is None:
            return super().forward(data, training)
        augment, self.batch_augments = self.batch_augments, None
        try:
            first = super().forward(
                dict(inputs=views[0], data_samples=data.get('data_samples')),
                training)
            second = super().forward(dict(inputs=views[1]),
                                     training)['inputs']
        finally:
            self.batch_augments = augment
        samples = first['data_samples']
        if not (training and augment is not None and samples
                and 'gt_score' in samples[0]):
            return first
        scores = torch.stack([s.gt_score for s in samples])
        inputs, scores = self._mix(augment, first['inputs'], scores, second)
        for sample, score in zip(samples, scores):
            sample.set_gt_score(score)
        return dict(inputs=inputs, data_samples=samples)

    @staticmethod
    def _mix(augment, inputs, scores, second):
        """Pick one of ``RandomBatchAugment``'s augments (torch randomness)
        and apply it with the second view where it takes one."""
        augs: List = augment.augments
        if augment.probs is None:
            index = int(torch.randint(len(augs), ()))
        else:
            index = int(torch.multinomial(torch.tensor(augment.probs), 1))
        aug = augs[index]
        if aug is None:
            return inputs, scores.float()
        if 'second_view' in inspect.signature(aug.__call__).parameters:
            return aug(inputs, scores, second_view=second)
        return aug(inputs, scores)
