"""A Lightning callback that mixes the training batch on the device.

Importing this module imports ``lightning`` (or, failing that, the older
``pytorch_lightning``); ``mmmiamix.integrations`` imports it only when
``MixingCallback`` is first asked for.
"""
from typing import Callable, Optional, Sequence

try:
    from lightning.pytorch import Callback
except ImportError:  # the older package name
    try:
        from pytorch_lightning import Callback
    except ImportError as err:
        raise ImportError(
            'MixingCallback needs Lightning: pip install lightning '
            '(or: pip install "mmmiamix[lightning]")') from err


class MixingCallback(Callback):
    """Mix every training batch after Lightning moved it to the device.

    In ``on_train_batch_start`` (after ``on_after_batch_transfer``, before
    ``training_step``) the callback replaces, in place, ``batch[keys[0]]``
    (images, float ``(B, C, H, W)``) and ``batch[keys[1]]`` (labels, int
    ``(B,)``, or scores ``(B, K)``) by ``augment(images, labels)``. The batch
    must be mutable: a list (what ``default_collate`` gives for ``(image,
    label)`` samples) or a dict (then ``keys`` are its keys). Validation,
    test and predict batches are never mixed.

    With ``off_epoch``, mixing stops from that (0-based) epoch on, decided
    from ``trainer.current_epoch`` at every epoch start (so resuming from a
    checkpoint does the right thing): augments with an ``enabled``
    attribute (mmmiamix's) get ``enabled = False`` and still turn labels into
    (smoothed) scores; others are no longer called.

    Args:
        augment (callable): ``mixed, scores = augment(images, labels)``, e.g.
            ``mmmiamix.MiAMix(num_classes=K)``.
        keys (sequence of 2): where images and labels sit in the batch.
            Default ``(0, 1)``.
        off_epoch (int, optional): first epoch trained without mixing.
    """

    def __init__(self, augment: Callable, keys: Sequence = (0, 1),
                 off_epoch: Optional[int] = None):
        if not callable(augment):
            raise TypeError(f'augment must be callable, got {augment!r}')
        keys = tuple(keys)
        if len(keys) != 2:
            raise ValueError(f'keys must hold 2 entries, got {keys!r}')
        if off_epoch is not None and (isinstance(off_epoch, bool)
                                      or not isinstance(off_epoch, int)
                                      or off_epoch < 0):
            raise ValueError(f'off_epoch must be an int >= 0 or None, got '
                             f'{off_epoch!r}')
        self.augment = augment
        self.keys = keys
        self.off_epoch = off_epoch
        #: True while the callback holds mixing off
        self.off = False
        self._disabled = False

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        if self.off_epoch is None:
            return
        off = trainer.current_epoch >= self.off_epoch
        if off == self.off:
            return
        if off and getattr(self.augment, 'enabled', False):
            self.augment.enabled = False
            self._disabled = True
        elif not off and self._disabled:
            self.augment.enabled = True
            self._disabled = False
        self.off = off

    def on_train_batch_start(self, trainer, pl_module, batch,
                             batch_idx: int) -> None:
        if self.off and not self._disabled:
            return  # an augment without `enabled`: not called once off
        if not isinstance(batch, (list, dict)):
            raise TypeError(
                'MixingCallback changes the batch in place, so the batch '
                'must be a list or a dict, got '
                f'{type(batch).__name__}; return a list from the collate_fn '
                'or mix in LightningModule.on_after_batch_transfer instead')
        k_in, k_target = self.keys
        batch[k_in], batch[k_target] = self.augment(batch[k_in],
                                                    batch[k_target])
