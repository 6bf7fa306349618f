"""A data preprocessor for the paper-faithful two-view path (DESIGN §4)."""
import inspect
from typing import List

import torch
from mmpretrain.models.utils import ClsDataPreprocessor
from mmpretrain.registry import MODELS


def _split_views(inputs):
    """The two views of a batch, or None for a one-view batch.

    ``MultiView(num_views=2)`` + ``PackInputs`` gives per sample a list of two
    images: ``default_collate`` turns them into a list of two ``(B, C, H, W)``
    tensors, ``pseudo_collate`` into a list of ``B`` two-image lists.
    """
    if not isinstance(inputs, (list, tuple)) or len(inputs) == 0:
        return None
    if isinstance(inputs[0], (list, tuple)):
        if any(len(item) != 2 for item in inputs):
            raise ValueError('TwoViewClsDataPreprocessor needs exactly 2 '
                             'views per sample (MultiView num_views=2)')
        return [list(item[0] for item in inputs),
                list(item[1] for item in inputs)]
    if isinstance(inputs[0], torch.Tensor) and inputs[0].dim() == 4:
        if len(inputs) != 2:
            raise ValueError('TwoViewClsDataPreprocessor needs exactly 2 '
                             f'views, got {len(inputs)}')
        return list(inputs)
    return None


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
