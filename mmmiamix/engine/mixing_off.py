"""Switch the batch augment off for the last part of training."""
from typing import List, Optional, Tuple

from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS

from .hooks import data_preprocessor


def _check_start(name, value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f'{name} must be an int >= 0 or None, got '
                        f'{value!r}')
    if value < 0:
        raise ValueError(f'{name} must be >= 0, got {value!r}')
    return value


@HOOKS.register_module()
class MixingOffHook(Hook):
    """Turn the data preprocessor's batch augment off from a given epoch
    (or iteration) on, like timm's ``mixup_off_epoch``.

    Epochs count from 0, as ``runner.epoch`` does: with ``max_epochs=100``
    and ``off_epoch=90`` the first 90 epochs are mixed and the last 10 (logged
    as ``Epoch(train) [91]`` .. ``[100]``) are not. ``off_epoch=0`` never
    mixes. The decision is taken from ``runner.epoch`` (``runner.iter`` for
    ``off_iter``) before every training epoch (iteration), never from the
    hook's own history, so a run resumed before ``off_epoch`` mixes and one
    resumed after does not.

    What "off" means:

    * mmmiamix's augments (``MiAMix``, ``FMix``, ``GridMix``, ``GMix``,
      ``AGMix``, ``SaliencyMix``, or any augment with an ``enabled``
      attribute) get ``enabled = False``: images pass unchanged, labels are
      still turned into (label-smoothed) scores;
    * other augments (mmpretrain's ``Mixup``, ``CutMix``, ``ResizeMix``) are
      replaced by ``None`` in ``RandomBatchAugment.augments`` (mmpretrain's
      identity entry): images and one-hot scores pass unchanged;
    * a bare augment without ``enabled`` in place of a ``RandomBatchAugment``
      is removed (``batch_augments = None``).

    The same applies to ``ClsDataPreprocessor`` (one view) and
    ``TwoViewClsDataPreprocessor`` (two views: only the first view then goes
    on to the model). Everything switched off is switched back on when a
    later epoch (iteration) comes before ``off_epoch`` (``off_iter``) again.

    Config::

        custom_hooks = [dict(type='MixingOffHook', off_epoch=90)]

    Args:
        off_epoch (int, optional): first epoch (0-based) trained without
            mixing; for epoch-based loops.
        off_iter (int, optional): first iteration (0-based) trained without
            mixing; for iteration-based loops. Give exactly one of the two.
    """

    priority = 'NORMAL'

    def __init__(self, off_epoch: Optional[int] = None,
                 off_iter: Optional[int] = None):
        self.off_epoch = _check_start('off_epoch', off_epoch)
        self.off_iter = _check_start('off_iter', off_iter)
        if (self.off_epoch is None) == (self.off_iter is None):
            raise ValueError('give exactly one of off_epoch and off_iter, '
                             f'got off_epoch={off_epoch!r}, '
                             f'off_iter={off_iter!r}')
        #: True while this hook holds mixing off
        self.off = False
        self._disabled: List = []  # augments set enabled=False by the hook
        self._replaced: List[Tuple] = []  # (list, index, augment)
        self._removed: Optional[Tuple] = None  # (preprocessor, augment)
        self._warned = False

    # ------------------------------------------------------------ hooks
    def before_train_epoch(self, runner) -> None:
        if self.off_epoch is not None:
            self._set(runner, runner.epoch >= self.off_epoch,
                      f'epoch {runner.epoch + 1}')

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        if self.off_iter is not None:
            self._set(runner, runner.iter >= self.off_iter,
                      f'iteration {runner.iter + 1}')

    # ------------------------------------------------------------ helpers
    _preprocessor = staticmethod(data_preprocessor)

    def _set(self, runner, off: bool, when: str) -> None:
        if off == self.off:
            return
        if off:
            if self._switch_off(runner):
                runner.logger.info(f'MixingOffHook: batch augment off from '
                                   f'{when} on')
        else:
            self._switch_on()
            runner.logger.info(f'MixingOffHook: batch augment back on at '
                               f'{when}')

    def _switch_off(self, runner) -> bool:
        pre = self._preprocessor(runner)
        batch_aug = getattr(pre, 'batch_augments', None)
        if batch_aug is None:
            if not self._warned:
                runner.logger.warning(
                    'MixingOffHook: the data preprocessor has no '
                    'batch_augments; nothing to switch off')
                self._warned = True
            return False
        augments = getattr(batch_aug, 'augments', None)
        if isinstance(augments, list):
            for i, aug in enumerate(augments):
                if aug is None:
                    continue
                if hasattr(aug, 'enabled'):
                    if aug.enabled:
                        aug.enabled = False
                        self._disabled.append(aug)
                else:
                    augments[i] = None  # RandomBatchAugment's identity
                    self._replaced.append((augments, i, aug))
        elif hasattr(batch_aug, 'enabled'):
            if batch_aug.enabled:
                batch_aug.enabled = False
                self._disabled.append(batch_aug)
        else:
            pre.batch_augments = None
            self._removed = (pre, batch_aug)
        self.off = True
        return True

    def _switch_on(self) -> None:
        for aug in self._disabled:
            aug.enabled = True
        for augments, i, aug in self._replaced:
            augments[i] = aug
        if self._removed is not None:
            pre, batch_aug = self._removed
            pre.batch_augments = batch_aug
        self._disabled, self._replaced, self._removed = [], [], None
        self.off = False
