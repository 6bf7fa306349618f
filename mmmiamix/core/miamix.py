"""MiAMix: Multi-stage Augmented Mixup (Liang et al., 2023, Algorithm 1).

Four stages, each per sample and batched over the whole batch:

1. pairing: a random other sample, or with ``p_self`` the sample itself seen
   through a second view (§3.2.1);
2. sampling: ``k`` layers, ratios ``Dir(alpha, ..., alpha, k alpha)`` and a
   method per layer weighted by ``method_weights`` (§3.2.2);
3. masks: one cut mask per layer; the masks of augmentable methods (cutmix,
   fmix, gridmix) are warped (rotated and sheared) with ``p_aug`` and
   smoothed with ``p_smooth`` (§3.2.3);
4. output: the masks merge into a keep mask (``mul`` or ``sum``), images
   mix as ``keep x + (1 - keep) x_partner`` and labels with the mean of
   ``keep`` (``merged``) or the sampled base share (``orig``) (§3.2.4).

All random draws happen first, in :meth:`MiAMix.sample` (a
:class:`~.draws.MiAMixDraws`, laid out by a :class:`~.plan.Plan`: each
(method, warp, smoothing) group of mask slots gets a stratified number of
rows known on the host); :meth:`MiAMix.apply` is deterministic and renders
only what the draws ask for (:mod:`.render`), without a host-device sync
and with an op count that depends on neither the batch nor the image size.
"""
from typing import Dict, Optional, Sequence, Tuple

import torch

from . import host, render
from .blend import blend_images, mix_scores, needs_grad
from .checks import (
    check_alpha,
    check_choice,
    check_prob,
    check_range,
    check_weights,
)
from .draws import MiAMixDraws, sample_draws
from .front import MixAugment, no_autocast
from .mask_augment import check_windows, default_smooth_windows
from .methods import MASK_METHODS, get_method
from .plan import Plan, make_plan
from .sampling import Generator
from .second_view import ViewConfig, partner_images

DEFAULT_METHODS = ('mixup', 'cutmix', 'fmix', 'gridmix', 'agmix')


class MiAMix(MixAugment):
    """Multi-stage Augmented Mixup; defaults from the paper's Table 2.

    ``prob`` is drawn with the other draws of :meth:`sample`: a sample
    left unmixed keeps its image and label through a keep mask of 1.
    Under ``torch.compile`` on the CPU the call runs eagerly inside the
    graph (:attr:`traced_on_cpu` False: docs/benchmarks.md).

    Call as ``mixed, scores = aug(inputs, targets)`` or, on the two-view
    path, ``aug(inputs, targets, second_view=views)``.

    Args:
        alpha (float): Dirichlet parameter of the ratios, in (0, 1e6].
            Default 2.0.
        k_max (int): most mask layers per sample. Default 2.
        layer_weights (sequence, optional): weights of ``k = 1..k_max``
            (Table 8: ``[0, 1]`` always 2 layers). Default: uniform.
        methods (sequence[str]): registered mask methods (``mixup, cutmix,
            fmix, gridmix, gmix, agmix`` or one's own, see
            :func:`~.methods.register_mask_method`). Default
            ``DEFAULT_METHODS``.
        method_weights (sequence): sampling weights of ``methods``. Default
            (2, 1, 1, 1, 1).
        p_self (float): probability of mixing with oneself. Default 0.1.
        p_aug (float): probability of rotating and shearing an augmentable
            method's mask. Default 0.25.
        p_smooth (float): probability of smoothing such a mask. Default 0.5.
        mask_merge (str): ``'mul'`` (``keep = prod(1 - M_j)``) or ``'sum'``
            (``keep = 1 - clip(sum M_j, 0, 1)``). Default ``'mul'``.
        lam_merge (str): ``'merged'`` (label weight = mean of ``keep``) or
            ``'orig'`` (the sampled base share). Default ``'merged'``.
        rotation_range, shear_range (tuple): rotation and shear angle of
            augmented masks, degrees. Default (-45, 45) and (-15, 15).
        smooth_windows (sequence[int], optional): odd window sizes of the
            smoothing filter; default :func:`default_smooth_windows` of the
            image size.
        smooth_filter (str): ``'gaussian'`` (§4.7, default) or ``'box'``.
        view_cfg (dict, optional): :class:`ViewConfig` arguments of the
            one-view path's second view.
        method_kwargs (dict, optional): per-method arguments, e.g.
            ``dict(fmix=dict(decay_power=3.0))``.
        num_classes, label_smoothing, prob, check_values: the front door of
            every augment, see :class:`~.front.MixAugment`.
    """

    draws_prob = True
    traced_on_cpu = False

    def __init__(self, alpha: float = 2.0, k_max: int = 2,
                 layer_weights: Optional[Sequence[float]] = None,
                 methods: Sequence[str] = DEFAULT_METHODS,
                 method_weights: Sequence[float] = (2, 1, 1, 1, 1),
                 p_self: float = 0.1, p_aug: float = 0.25,
                 p_smooth: float = 0.5, mask_merge: str = 'mul',
                 lam_merge: str = 'merged',
                 rotation_range: Tuple[float, float] = (-45.0, 45.0),
                 shear_range: Tuple[float, float] = (-15.0, 15.0),
                 smooth_windows: Optional[Sequence[int]] = None,
                 smooth_filter: str = 'gaussian',
                 view_cfg: Optional[dict] = None,
                 method_kwargs: Optional[Dict[str, dict]] = None,
                 num_classes: Optional[int] = None,
                 label_smoothing: float = 0.0, prob: float = 1.0,
                 check_values: bool = False):
        super().__init__(num_classes, label_smoothing, prob, check_values)
        self.alpha = check_alpha('alpha', alpha)
        self.k_max = _check_k_max(k_max)
        self.layer_weights = check_weights(
            'layer_weights',
            [1] * k_max if layer_weights is None else layer_weights, k_max)
        self.methods = _check_methods(methods)
        self.method_weights = check_weights('method_weights', method_weights,
                                            len(self.methods))
        self.p_self = check_prob('p_self', p_self)
        self.p_aug = check_prob('p_aug', p_aug)
        self.p_smooth = check_prob('p_smooth', p_smooth)
        self.mask_merge = check_choice('mask_merge', mask_merge,
                                       ('mul', 'sum'))
        self.lam_merge = check_choice('lam_merge', lam_merge,
                                      ('merged', 'orig'))
        self.rotation_range = check_range('rotation_range', rotation_range,
                                          -180, 180)
        self.shear_range = check_range('shear_range', shear_range, -60, 60)
        self.smooth_windows = (None if smooth_windows is None else
                               check_windows('smooth_windows',
                                             smooth_windows))
        self.smooth_filter = check_choice('smooth_filter', smooth_filter,
                                          ('gaussian', 'box'))
        if view_cfg is not None and not isinstance(view_cfg, dict):
            raise TypeError(f'view_cfg must be a dict of ViewConfig '
                            f'arguments, got {type(view_cfg).__name__}')
        self.view = ViewConfig(**(view_cfg or {}))
        self.method_kwargs = _check_method_kwargs(self.methods,
                                                  method_kwargs)

    def windows(self, size) -> Tuple[int, ...]:
        """Smoothing windows used at image size ``(H, W)``."""
        return self.smooth_windows or default_smooth_windows(tuple(size))

    def plan(self, batch_size: int, device) -> Plan:
        """The :class:`~.plan.Plan` of a call on ``batch_size`` images."""
        return make_plan(batch_size, self.k_max, self.layer_weights,
                         self.methods, self.method_weights, self.p_aug,
                         self.p_smooth, self.p_self, torch.device(device))

    def _kernels(self, size, device) -> torch.Tensor:
        return render.kernels_table(self.windows(size), self.smooth_filter,
                                    torch.device(device))

    def sample(self, batch_size: int, size, device,
               generator: Generator = None) -> MiAMixDraws:
        """Every random draw of one call (stages 1-3) as a
        :class:`MiAMixDraws` on ``device``."""
        return sample_draws(self, batch_size, size, device, generator)

    def cut_masks(self, draws: MiAMixDraws, size, device,
                  augment: bool = True) -> torch.Tensor:
        """Stage 3: every slot's cut mask, float32 ``(B, k_max, H, W)`` (0
        for a layer beyond the sample's ``k``); ``augment``: warped and
        smoothed as drawn (else the masks before that stage)."""
        size = tuple(size)
        return render.cut_masks(draws, self.methods,
                                self._kernels(size, device), size, augment)

    def keep_mask(self, draws: MiAMixDraws, size, device) -> torch.Tensor:
        """Stages 3-4: the keep mask, float32 ``(B, 1, H, W)`` in [0, 1]."""
        size = tuple(size)
        return render.keep_mask(draws, self.methods,
                                self._kernels(size, device), size,
                                self.mask_merge)

    def apply(self, inputs: torch.Tensor, batch_score: torch.Tensor,
              draws: MiAMixDraws, *,
              second_view: Optional[torch.Tensor] = None,
              record: Optional[dict] = None
              ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Mix a batch with the draws of :meth:`sample`: ``(mixed, scores)``,
        mixed images (dtype of inputs) and float32 scores ``(B, K)``;
        ``record`` (a dict): filled with ``keep``, ``partner`` and ``weight``
        (see :class:`~.front.MixRecord`)."""
        # The output's buffer first, where the last call's output was freed
        # (the masks' temporaries would otherwise leave it fresh pages).
        source = inputs if second_view is None else second_view
        out = None if needs_grad(source) else torch.empty_like(source)
        keep = self.keep_mask(draws, inputs.shape[-2:], inputs.device)
        return self._blend(inputs, batch_score, draws, keep, second_view,
                           record, out=out)

    def _blend(self, inputs, batch_score, draws, keep, second_view,
               record=None, explain=False, out=None):
        partners = partner_images(inputs, draws, self.view,
                                  second_view=second_view, out=out)
        if draws.unmixed is not None:  # kept whole, with their own label
            keep.masked_fill_(draws.unmixed.view(-1, 1, 1, 1), 1.0)
        if self.lam_merge == 'orig':
            weight = draws.base_share if draws.unmixed is None else \
                draws.base_share.masked_fill(draws.unmixed, 1.0)
        else:
            weight = keep.to(inputs.dtype).float().mean(dim=(1, 2, 3))
        if record is not None:
            record.update(keep=keep, partner=draws.partner, weight=weight)
            if draws.unmixed is not None:
                record['mixed'] = ~draws.unmixed
        if explain:
            record.update(partner_images=partners.clone(), draws=draws)
        # partners are copies or bilinear resamples of the inputs (or of the
        # second views): those bound their values, unless jittered
        jitter = self.view.brightness > 0 or self.view.contrast > 0
        sources = (inputs, partners) if jitter and second_view is None \
            else (inputs, ) if second_view is None else (inputs, second_view)
        mixed = blend_images(inputs, partners, keep, inplace=True,
                             sync_free=not host.host_reads_free(inputs.device),
                             sources=sources)
        return mixed, mix_scores(batch_score, draws.partner, weight)

    def mix(self, inputs: torch.Tensor, scores: torch.Tensor, *,
            generator: Generator = None,
            second_view: Optional[torch.Tensor] = None,
            record: Optional[dict] = None):
        """Draw with :meth:`sample` and mix with :meth:`apply`."""
        _check_second_view(inputs, second_view)
        draws = self.sample(inputs.shape[0], inputs.shape[-2:],
                            inputs.device, generator)
        return self.apply(inputs, scores, draws, second_view=second_view,
                          record=record)

    def __call__(self, inputs: torch.Tensor, batch_score: torch.Tensor, *,
                 second_view: Optional[torch.Tensor] = None,
                 generator: Generator = None):
        """Mix ``inputs`` (float ``(B, C, H, W)``) and ``batch_score``
        (``(B, K)`` scores or, with ``num_classes``, ``(B,)`` class
        indices); ``second_view``: the inputs' second views (same shape,
        dtype and device) or None. Returns the mixed inputs (dtype of
        inputs) and float32 scores ``(B, K)``."""
        return super().__call__(inputs, batch_score, generator=generator,
                                second_view=second_view)

    def explain(self, inputs: torch.Tensor, batch_score: torch.Tensor, *,
                second_view: Optional[torch.Tensor] = None,
                generator: Generator = None) -> dict:
        """One call with every stage recorded: a dict of ``draws``
        (:class:`MiAMixDraws`), ``partner_images``, ``raw_cut`` and ``cut``
        (float32 ``(B, k_max, H, W)``, the cut masks before and after
        warping and smoothing), ``keep`` (``(B, 1, H, W)``), ``weight``
        (float32 ``(B,)``, the base image's label weight), ``mixed`` and
        ``scores``."""
        self.check_inputs(inputs)
        scores = self.scores(batch_score, inputs)
        _check_second_view(inputs, second_view)
        size, device = tuple(inputs.shape[-2:]), inputs.device
        draws = self.sample(inputs.shape[0], size, device, generator)
        with no_autocast(device):
            record = dict(cut=self.cut_masks(draws, size, device),
                          raw_cut=self.cut_masks(draws, size, device,
                                                 augment=False))
            keep = self.keep_mask(draws, size, device)
            mixed, mixed_scores = self._blend(inputs, scores, draws, keep,
                                              second_view, record,
                                              explain=True)
        record.update(mixed=mixed, scores=self.smooth_labels(mixed_scores))
        return record

    def __repr__(self):
        return (f'MiAMix(alpha={self.alpha}, k_max={self.k_max}, '
                f'methods={self.methods}, '
                f'method_weights={self.method_weights}, '
                f'p_self={self.p_self}, p_aug={self.p_aug}, '
                f'p_smooth={self.p_smooth}, mask_merge={self.mask_merge!r}, '
                f'lam_merge={self.lam_merge!r})')


def _check_k_max(k_max) -> int:
    if isinstance(k_max, bool) or not isinstance(k_max, int) or k_max < 1:
        raise ValueError(f'k_max must be an int >= 1, got {k_max!r}')
    return k_max


def _check_methods(methods) -> Tuple[str, ...]:
    if isinstance(methods, str) or not isinstance(methods, Sequence) \
            or len(methods) == 0:
        raise ValueError('methods must be a non-empty sequence of names '
                         f'from {tuple(MASK_METHODS)}, got {methods!r}')
    for m in methods:
        check_choice('methods', m, tuple(MASK_METHODS))
    if len(set(methods)) != len(methods):
        raise ValueError(f'methods must not repeat, got {methods!r}')
    render.check_groups(tuple(methods))
    return tuple(methods)


def _check_method_kwargs(methods, method_kwargs) -> Dict[str, dict]:
    method_kwargs = dict(method_kwargs or {})
    for name in method_kwargs:
        check_choice('method_kwargs', name, methods)
    return {name: get_method(name).check_args(method_kwargs.get(name, {}))
            for name in methods}


def _check_second_view(inputs, second_view):
    if second_view is None:
        return
    if not isinstance(second_view, torch.Tensor):
        raise TypeError('second_view must be a tensor of the second '
                        'views, got ' + type(second_view).__name__)
    if second_view.shape != inputs.shape:
        raise ValueError('second_view must have the shape of inputs: '
                         f'{tuple(second_view.shape)} != '
                         f'{tuple(inputs.shape)}')
    if second_view.dtype != inputs.dtype or \
            second_view.device != inputs.device:
        raise ValueError('second_view must have the dtype and device of '
                         f'inputs: {second_view.dtype} on '
                         f'{second_view.device} != {inputs.dtype} on '
                         f'{inputs.device}')


__all__ = ['DEFAULT_METHODS', 'MiAMix', 'MiAMixDraws']
