"""A picklable ``collate_fn`` that mixes each batch after collation."""
from typing import Callable, Optional

from torch.utils.data import default_collate


class MixCollate:
    """``collate_fn`` for a ``DataLoader``: collate, then mix.

    ``MixCollate(aug)(samples)`` returns ``[mixed, scores, *rest]`` (the
    container ``collate_fn`` gives: a list from ``default_collate``) for
    samples ``(image, label, *rest)``: the images (float ``(B, C, H, W)``)
    and labels (int ``(B,)``, or scores ``(B, K)``) that ``collate_fn``
    gives are passed through ``aug``; extra fields pass unchanged. This is
    torchvision v2's ``mix(*default_collate(batch))`` recipe as a class, so
    that it pickles: ``DataLoader(..., num_workers=2, collate_fn=
    MixCollate(aug))`` works under every start method (fork, spawn,
    forkserver). In workers the augment draws from each worker's own torch
    generator (seeded by the ``DataLoader``), on the CPU.

    Args:
        augment (callable): ``mixed, scores = augment(images, targets)``,
            e.g. ``mmmiamix.MiAMix(num_classes=K)``.
        collate_fn (callable, optional): the collation before mixing;
            default ``torch.utils.data.default_collate``.
    """

    def __init__(self, augment: Callable,
                 collate_fn: Optional[Callable] = None):
        if not callable(augment):
            raise TypeError(f'augment must be callable, got {augment!r}')
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError('collate_fn must be callable or None, got '
                            f'{collate_fn!r}')
        self.augment = augment
        self.collate_fn = collate_fn

    def __call__(self, samples):
        batch = (self.collate_fn or default_collate)(samples)
        if not isinstance(batch, (list, tuple)) or len(batch) < 2:
            raise TypeError('MixCollate needs samples of (image, label, ...) '
                            'that collate into a list or tuple, got '
                            f'{type(batch).__name__}')
        mixed, scores = self.augment(batch[0], batch[1])
        items = (mixed, scores, *batch[2:])
        if hasattr(batch, '_fields'):  # a namedtuple
            return type(batch)(*items)
        return type(batch)(items)  # list stays list, tuple stays tuple

    def __repr__(self):
        return f'{type(self).__name__}({self.augment!r})'
