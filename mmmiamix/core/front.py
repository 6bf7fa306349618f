"""The front door shared by every augment (docs/design.md, "What users and
configs rely on"): what goes in, what comes out, and the switches around the
mixing itself.

- targets: integer class indices ``(B,)`` (needs ``num_classes``) or scores
  ``(B, K)``, one-hot or soft, int or float;
- returned scores: float32 ``(B, K)`` on the input's device, rows summing to
  1, ``(1 - eps) * mixed + eps / K`` with ``label_smoothing = eps``;
- ``prob``: each sample is mixed with that probability (drawn per sample on
  the device), the others pass through with their own label;
- ``enabled``: ``False`` turns mixing off (a hook or a loop sets it);
- ``check_values``: also check tensor *values* (finite pixels, scores >= 0
  summing to 1). Off by default: reading values back is a host sync on CUDA;
- :meth:`MixAugment.mix_recorded`: the same call, also handing over a
  :class:`MixRecord` (the keep mask, the partners, the label weights and the
  unmixed scores) for relabelling after the forward pass (attention-weighted
  labels, :mod:`.attention`).

Augments pickle (they hold their settings only; the constant tensors of a
call live in :mod:`.constants`), so a ``DataLoader`` with workers can run one
in its ``collate_fn``.
"""
import contextlib
from dataclasses import dataclass
from typing import Optional, Tuple

import torch

from . import host
from .checks import check_batch, check_prob
from .constants import arange, constant
from .sampling import Generator


def no_autocast(device: torch.device):
    """A context without autocast on ``device`` (masks are float32
    arithmetic: ``--amp`` stays out of them); nothing to do on a device
    without autocast (``meta``)."""
    if torch.amp.is_autocast_available(device.type):
        return torch.autocast(device.type, enabled=False)
    return contextlib.nullcontext()


@dataclass
class MixRecord:
    """What one mixing call hands over for relabelling after the forward
    pass: nothing is copied, every tensor is the call's own.

    Attributes:
        keep: float32 ``(B, 1, H, W)``, or ``(B, 1, 1, 1)`` for a uniform
            mask (mixup), the base image's pixel weight in [0, 1] (docs/
            design.md, "The mask convention"); a sample that was not mixed
            (``mixed`` False) counts as kept whole, whatever ``keep`` holds.
        partner: long ``(B,)``, each sample's partner (itself for a
            self-mix and for a sample that was not mixed).
        weight: float32 ``(B,)`` in [0, 1], the base label weight the call
            gave (the area share; 1 where not mixed).
        scores: float32 ``(B, K)``, the targets before mixing and before
            label smoothing.
        mixed: bool ``(B,)``, which samples were mixed (``prob < 1``), or
            None: all of them.
    """
    keep: torch.Tensor
    partner: torch.Tensor
    weight: torch.Tensor
    scores: torch.Tensor
    mixed: Optional[torch.Tensor] = None


def check_num_classes(value) -> Optional[int]:
    """``num_classes``: None or an int >= 1."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f'num_classes must be an int >= 1 or None, got '
                         f'{value!r}')
    return value


def check_label_smoothing(value) -> float:
    """``label_smoothing``: a number in [0, 1)."""
    value = check_prob('label_smoothing', value)
    if value >= 1:
        raise ValueError(f'label_smoothing must be in [0, 1), got {value!r}')
    return value


class MixAugment:
    """Base of the augments: targets in, float32 scores out, ``prob``,
    ``label_smoothing``, ``enabled``.

    Subclasses implement :meth:`mix` (``inputs``, float32 scores ``(B, K)``
    and a generator to mixed inputs and scores); given a dict ``record``,
    ``mix`` also stores ``keep``, ``partner`` and ``weight`` in it (see
    :class:`MixRecord`).

    Args:
        num_classes (int, optional): number of classes ``K``; required for
            integer class-index targets ``(B,)``.
        label_smoothing (float): ``eps`` in [0, 1); scores become ``(1 - eps)
            * mixed + eps / K``. Default 0.
        prob (float): probability in [0, 1] that a sample is mixed. Default 1.
        check_values (bool): also check finite pixels and valid scores (a
            host sync on CUDA). Default False.
    """

    #: set False to pass batches through unmixed (labels still converted)
    enabled: bool = True
    #: the subclass draws ``prob`` itself (in ``mix``, storing the samples
    #: it mixed as ``record['mixed']``); else the front door does
    draws_prob: bool = False
    #: ``torch.compile`` traces the call into the graph on the CPU too
    #: (False: it runs eagerly inside it there, :func:`~.host.traced_whole`;
    #: measured per augment, docs/benchmarks.md)
    traced_on_cpu: bool = True

    def __init__(self, num_classes: Optional[int] = None,
                 label_smoothing: float = 0.0, prob: float = 1.0,
                 check_values: bool = False):
        self.num_classes = check_num_classes(num_classes)
        self.label_smoothing = check_label_smoothing(label_smoothing)
        self.prob = check_prob('prob', prob)
        if not isinstance(check_values, bool):
            raise TypeError(f'check_values must be a bool, got '
                            f'{check_values!r}')
        self.check_values = check_values
        self.enabled = True

    # --------------------------------------------------------------- targets
    def scores(self, batch_score: torch.Tensor, inputs: torch.Tensor
               ) -> torch.Tensor:
        """Targets ``batch_score`` (class indices ``(B,)`` or scores ``(B,
        K)``) as float32 scores ``(B, K)`` on the device of ``inputs``;
        raises naming ``batch_score`` when they cannot be scores of this
        batch."""
        targets = batch_score
        if not isinstance(targets, torch.Tensor):
            raise TypeError('batch_score must be a torch.Tensor of class '
                            'indices (B,) or scores (B, num_classes), got '
                            f'{type(targets).__name__}')
        b = inputs.shape[0]
        if targets.shape[:1] != (b, ):
            raise ValueError('batch_score must have the batch size of inputs:'
                             f' shape {tuple(targets.shape)} for {b} images')
        if targets.device != inputs.device:
            raise ValueError('batch_score must be on the device of inputs: '
                             f'{targets.device} != {inputs.device}')
        if targets.dim() == 1:
            if targets.is_floating_point() or targets.dtype == torch.bool:
                raise TypeError('batch_score of shape (B,) must hold integer '
                                f'class indices, got {targets.dtype}')
            if self.num_classes is None:
                raise ValueError('batch_score holds class indices (B,): build '
                                 'the augment with num_classes=K')
            if self.check_values:
                self._check_values(inputs, targets, None)
            scores = torch.zeros(b, self.num_classes, device=inputs.device)
            scores.scatter_(1, targets.long().view(-1, 1), 1.0)
            return scores
        elif targets.dim() == 2:
            if self.num_classes is not None and \
                    targets.shape[1] != self.num_classes:
                raise ValueError('batch_score must have num_classes='
                                 f'{self.num_classes} columns, got '
                                 f'{targets.shape[1]}')
            scores = targets.float()
            if self.check_values:
                self._check_values(inputs, targets, scores)
            return scores
        else:
            raise ValueError('batch_score must be class indices (B,) or '
                             'scores (B, num_classes), got shape '
                             f'{tuple(targets.shape)}')

    def _check_values(self, inputs, targets, scores):
        if not bool(torch.isfinite(inputs).all()):
            raise ValueError('inputs must be finite (check_values=True found '
                             'NaN or Inf pixels)')
        if targets.dim() == 1:
            bad = (targets < 0) | (targets >= self.num_classes)
            if bool(bad.any()):
                raise ValueError('batch_score class indices must lie in [0, '
                                 f'{self.num_classes})')
            return
        if bool((scores < 0).any()) or not bool(torch.isfinite(scores).all()):
            raise ValueError('batch_score must hold finite scores >= 0')
        if not torch.allclose(scores.sum(1), torch.ones_like(scores[:, 0]),
                              atol=1e-3):
            raise ValueError('batch_score rows must sum to 1 (one-hot or soft '
                             'scores)')

    def smooth_labels(self, scores: torch.Tensor) -> torch.Tensor:
        """Label smoothing of scores ``(B, K)``: ``(1 - eps) * scores + eps
        / K``."""
        eps = self.label_smoothing
        if eps == 0:
            return scores
        return torch.lerp(scores, constant(1 / scores.shape[1],
                                           scores.device), eps)

    # ------------------------------------------------------------------ call
    def check_inputs(self, inputs: torch.Tensor) -> None:
        """Raise unless ``inputs`` is a float ``(B, C, H, W)`` batch."""
        check_batch(inputs)

    def mix(self, inputs: torch.Tensor, scores: torch.Tensor, *,
            generator: Generator = None, **kwargs):
        """Mix a batch: ``(mixed inputs, float32 scores (B, K))``."""
        raise TypeError(f'{type(self).__name__} defines no mix()')

    def __call__(self, inputs: torch.Tensor, batch_score: torch.Tensor, *,
                 generator: Generator = None, **kwargs):
        """Mix ``inputs`` (float ``(B, C, H, W)``) and ``batch_score``
        (``(B,)`` class indices or ``(B, K)`` scores); returns the mixed
        inputs (dtype, device and memory format of ``inputs``) and float32
        scores ``(B, K)``."""
        mixed, scores, _ = self._front(inputs, batch_score, generator, None,
                                       **kwargs)
        return mixed, scores

    def _traced(self, inputs) -> bool:
        """Whether this call runs as it is: not while ``torch.compile``
        traces it on a device whose graph should not hold it
        (:func:`~.host.traced_whole`, :attr:`traced_on_cpu`)."""
        return not torch.compiler.is_compiling() or \
            not isinstance(inputs, torch.Tensor) or \
            self.traced_on_cpu or host.traced_whole(inputs.device)

    def mix_recorded(self, inputs: torch.Tensor, batch_score: torch.Tensor,
                     *, generator: Generator = None, **kwargs
                     ) -> Tuple[torch.Tensor, torch.Tensor,
                                Optional[MixRecord]]:
        """The call of :meth:`__call__` (same draws, same results) that also
        returns its :class:`MixRecord`: ``(mixed, scores, record)``;
        ``record`` is None when ``enabled`` is False (nothing was mixed)."""
        return self._front(inputs, batch_score, generator, {}, **kwargs)

    def _front(self, inputs, batch_score, generator, record, **kwargs):
        if not self._traced(inputs):  # one deliberate graph break
            return _eagerly(self._front, inputs, batch_score, generator,
                            record, **kwargs)
        self.check_inputs(inputs)
        scores = self.scores(batch_score, inputs)
        if not self.enabled:
            return inputs, self.smooth_labels(scores), None
        if record is not None:
            kwargs['record'] = record
        with no_autocast(inputs.device):
            mixed, mixed_scores = self.mix(inputs, scores,
                                           generator=generator, **kwargs)
        chosen = None
        if self.prob < 1 and not self.draws_prob:
            chosen = torch.rand(inputs.shape[0], device=inputs.device,
                                generator=generator) < self.prob
            mixed = torch.where(chosen.view(-1, 1, 1, 1), mixed, inputs)
            mixed_scores = torch.where(chosen.view(-1, 1), mixed_scores,
                                       scores)
        if record is not None:
            record = _mix_record(record, scores,
                                 record.get('mixed', chosen))
        return mixed, self.smooth_labels(mixed_scores), record


@torch.compiler.disable
def _eagerly(fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, run eagerly even inside a compiled graph."""
    return fn(*args, **kwargs)


def _mix_record(record: dict, scores: torch.Tensor,
                chosen: Optional[torch.Tensor]) -> MixRecord:
    """The :class:`MixRecord` of what ``mix`` stored, the samples left
    unmixed by ``prob`` counted as kept whole."""
    partner, weight = record['partner'], record['weight'].float()
    if chosen is not None:
        partner = torch.where(chosen, partner,
                              arange(partner.shape[0], partner.device))
        weight = torch.where(chosen, weight, 1.0)
    return MixRecord(keep=record['keep'], partner=partner, weight=weight,
                     scores=scores, mixed=chosen)
