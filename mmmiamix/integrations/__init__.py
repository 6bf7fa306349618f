"""Glue for other training frameworks (imports none of them eagerly).

* :class:`MixCollate` (plain PyTorch / torchvision v2): a picklable
  ``collate_fn`` that mixes each batch right after ``default_collate``, in
  the ``DataLoader``'s workers.
* :class:`MixingCallback` (Lightning): mixes the training batch on the
  device, after Lightning's batch transfer. ``lightning`` (or
  ``pytorch_lightning``) is imported only when this name is first used.
"""
from .collate import MixCollate

__all__ = ['MixCollate', 'MixingCallback']


def __getattr__(name):
    if name == 'MixingCallback':
        from .lightning import MixingCallback
        return MixingCallback
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
