"""A :class:`~mmmiamix.core.MixRecord` carried from the data preprocessor to
the loss inside the data samples (no global state: the record of a batch
lives in that batch's ``DataSample`` list, on its rank).

Each training sample gets one field, ``mix_record``: a ``BaseDataElement``
holding its row of the record (``keep`` ``(1, H, W)`` or ``(1, 1, 1)``,
``partner`` long ``()``, a batch position, ``weight`` ``()``, ``scores``
``(K,)``, ``mixed`` bool ``()`` when the augment mixed with ``prob < 1``)
and, as metainfo, the ``label_smoothing`` the augment applied. Samples of a
batch that was not mixed carry no such field.
"""
from typing import List, Optional, Tuple

import torch
from mmengine.structures import BaseDataElement

from ..core import MixRecord

#: the DataSample field holding a sample's row of the record
FIELD = 'mix_record'
_ROWS = ('keep', 'partner', 'weight', 'scores')


def attach_record(samples: List, record: MixRecord,
                  label_smoothing: float) -> None:
    """Give each of ``samples`` (the batch's ``DataSample`` list, in batch
    order) its row of ``record``, views of the record's tensors."""
    b = record.partner.shape[0]
    if len(samples) != b:
        raise ValueError(f'the record holds {b} samples, the batch '
                         f'{len(samples)}')
    rows = {name: getattr(record, name).unbind(0) for name in _ROWS}
    if record.mixed is not None:
        rows['mixed'] = record.mixed.unbind(0)
    meta = dict(label_smoothing=float(label_smoothing))
    for i, sample in enumerate(samples):
        sample.set_field(BaseDataElement(
            metainfo=meta, **{k: v[i] for k, v in rows.items()}), FIELD)


def collect_record(samples: Optional[List]
                   ) -> Optional[Tuple[MixRecord, float]]:
    """The batch's ``(MixRecord, label_smoothing)`` from its data samples,
    or None when they carry none (an unmixed batch)."""
    if not samples or FIELD not in samples[0]:
        return None
    elements = [sample.get(FIELD) for sample in samples]
    if any(e is None for e in elements):
        raise ValueError(f'some data samples of the batch carry a '
                         f'{FIELD} and others not')
    stacked = {name: torch.stack([getattr(e, name) for e in elements])
               for name in _ROWS}
    if 'mixed' in elements[0]:
        stacked['mixed'] = torch.stack([e.mixed for e in elements])
    return MixRecord(**stacked), elements[0].label_smoothing
