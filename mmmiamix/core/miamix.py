"""MiAMix: Multi-stage Augmented Mixup (Liang et al., 2023, Algorithm 1).

Four stages, each per sample and batched over the whole batch:

1. pairing: a random other sample, or with ``p_self`` the sample itself seen
   through a second view (§3.2.1);
2. sampling: ``k`` layers, ratios ``Dir(alpha, ..., alpha, k alpha)`` and a
   method per layer weighted by ``method_weights`` (§3.2.2);
3. masks: one cut mask per layer; cutmix, fmix and gridmix masks are rotated
   and sheared with ``p_aug`` and smoothed with ``p_smooth`` (§3.2.3);
4. output: the masks merge into a keep mask (``mul`` or ``sum``), images
   mix as ``keep x + (1 - keep) x_partner`` and labels with the mean of
   ``keep`` (``merged``) or the sampled base share (``orig``) (§3.2.4).

All random draws happen first, in :meth:`MiAMix.sample` (kornia style);
:meth:`MiAMix.apply` is deterministic. A batch of ``B`` samples has ``B *
k_max`` mask *slots*; slots beyond a sample's ``k`` are inactive (an empty
cut mask).
"""
from typing import Dict, Optional, Sequence, Tuple

import torch

from .checks import (check_batch, check_choice, check_positive, check_prob,
                     check_range, check_weights)
from .mask_augment import (box_filter, check_windows, default_smooth_windows,
                           sample_rotation_shear)
from .masks import MASK_METHODS
from .mixing import (apply_by_group, blend, check_method_kwargs,
                     gather_partners, mix_scores, take)
from .sampling import (Generator, sample_categorical, sample_layer_ratios,
                       sample_partners)
from .second_view import ViewConfig

DEFAULT_METHODS = ('mixup', 'cutmix', 'fmix', 'gridmix', 'agmix')

#: Masks and views are rendered at most this many pixels at a time, which
#: bounds the temporaries of one step (FMix's noise, sampling grid and bin
#: indices; the full coordinate maps of rotated masks) to a few such maps.
CHUNK_PIXELS = 1 << 22


class MiAMix:
    """Multi-stage Augmented Mixup; defaults from the paper's Table 2.

    Call as ``mixed, scores = aug(inputs, batch_score)`` or, on the two-view
    path, ``aug(inputs, batch_score, second_view=views)``.

    Args:
        alpha (float): Dirichlet parameter of the ratios. Default 2.0.
        k_max (int): most mask layers per sample. Default 2.
        layer_weights (sequence, optional): weights of ``k = 1..k_max``
            (Table 8: ``[0, 1]`` always 2 layers, ``[1, 1, 1]`` uniform over
            1..3). Default: uniform.
        methods (sequence[str]): candidates among ``mixup, cutmix, fmix,
            gridmix, gmix, agmix``. Default ``DEFAULT_METHODS``.
        method_weights (sequence): sampling weights of ``methods``. Default
            (2, 1, 1, 1, 1).
        p_self (float): probability of mixing with oneself. Default 0.1.
        p_aug (float): probability of rotating and shearing a cutmix, fmix or
            gridmix mask. Default 0.25.
        p_smooth (float): probability of smoothing such a mask. Default 0.5.
        mask_merge (str): ``'mul'`` (``keep = prod(1 - M_j)``) or ``'sum'``
            (``keep = 1 - clip(sum M_j, 0, 1)``). Default ``'mul'``.
        lam_merge (str): ``'merged'`` (label weight = mean of ``keep``) or
            ``'orig'`` (the sampled base share). Default ``'merged'``.
        rotation_range (tuple): rotation of augmented masks, degrees.
            Default (-45, 45).
        shear_range (tuple): shear angle of augmented masks, degrees.
            Default (-15, 15).
        smooth_windows (sequence[int], optional): odd window sizes of the
            smoothing filter; default :func:`default_smooth_windows` of the
            image size (the paper's sets at 64 and 224 pixels).
        second_view (dict, optional): :class:`ViewConfig` arguments of the
            one-view path's second view (flip, crop-and-resize, shift).
        method_kwargs (dict, optional): per-method arguments, e.g.
            ``dict(fmix=dict(decay_power=3.0), agmix=dict(q_range=(-.5, .5)))``.
        render (str): ``'compact'`` computes each method only on its own
            slots (needs ``nonzero``); ``'dense'`` computes every method on
            every slot and selects, with no host-device sync; ``'auto'``
            (default) is dense on CUDA and compact elsewhere. Results are the
            same.
    """

    def __init__(self,
                 alpha: float = 2.0,
                 k_max: int = 2,
                 layer_weights: Optional[Sequence[float]] = None,
                 methods: Sequence[str] = DEFAULT_METHODS,
                 method_weights: Sequence[float] = (2, 1, 1, 1, 1),
                 p_self: float = 0.1,
                 p_aug: float = 0.25,
                 p_smooth: float = 0.5,
                 mask_merge: str = 'mul',
                 lam_merge: str = 'merged',
                 rotation_range: Tuple[float, float] = (-45.0, 45.0),
                 shear_range: Tuple[float, float] = (-15.0, 15.0),
                 smooth_windows: Optional[Sequence[int]] = None,
                 second_view: Optional[dict] = None,
                 method_kwargs: Optional[Dict[str, dict]] = None,
                 render: str = 'auto'):
        self.alpha = check_positive('alpha', alpha)
        if isinstance(k_max, bool) or not isinstance(k_max, int) or k_max < 1:
            raise ValueError(f'k_max must be an int >= 1, got {k_max!r}')
        self.k_max = k_max
        self.layer_weights = check_weights(
            'layer_weights',
            [1] * k_max if layer_weights is None else layer_weights, k_max)
        if isinstance(methods, str) or not isinstance(methods, Sequence) \
                or len(methods) == 0:
            raise ValueError('methods must be a non-empty sequence of names '
                             f'from {tuple(MASK_METHODS)}, got {methods!r}')
        for m in methods:
            check_choice('methods', m, tuple(MASK_METHODS))
        if len(set(methods)) != len(methods):
            raise ValueError(f'methods must not repeat, got {methods!r}')
        self.methods = tuple(methods)
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
        self.view = ViewConfig(**(second_view or {}))
        method_kwargs = dict(method_kwargs or {})
        for name in method_kwargs:
            check_choice('method_kwargs', name, self.methods)
        self.method_kwargs = {
            name: check_method_kwargs(name, method_kwargs.get(name, {}))
            for name in self.methods
        }
        self.render = check_choice('render', render,
                                   ('auto', 'compact', 'dense'))
        self._device_tables = {}

    # ------------------------------------------------------------ sampling
    def _tables(self, device) -> Dict[str, torch.Tensor]:
        """The sampling weights and the augmentable flags of the methods as
        tensors on ``device``, made once per device: a tensor literal in
        every call would be a host-to-device copy, which syncs on CUDA."""
        device = torch.device(device)
        cache = self._device_tables
        if device not in cache:
            flags = [MASK_METHODS[m].augmentable for m in self.methods]
            cache[device] = dict(
                layer_weights=torch.tensor(self.layer_weights, device=device),
                method_weights=torch.tensor(self.method_weights,
                                            device=device),
                augmentable=torch.tensor(flags + [False], device=device))
        return cache[device]

    def windows(self, size) -> Tuple[int, ...]:
        """Smoothing windows used at image size ``(H, W)``."""
        return self.smooth_windows or default_smooth_windows(size)

    def sample(self, batch_size: int, size, device,
               generator: Generator = None) -> Dict[str, object]:
        """Every random draw of one call (stages 1-3), as tensors on
        ``device``.

        Returns a dict with ``partner`` (long ``(B,)``), ``k`` (long
        ``(B,)``), ``lam`` (float ``(B, k_max + 1)``), ``method`` (long
        ``(B, k_max)``, index into ``methods``, -1 for inactive layers),
        ``affine`` (float ``(S, 2, 2)``) and ``rotate`` (bool ``(S,)``,
        whether the slot's mask is rotated and sheared by ``affine``),
        ``window`` (long ``(S,)``, index into :meth:`windows`, -1 for none),
        ``mask_params`` (per method, each slot's parameters) and ``view``
        (second-view draws), where ``S = B * k_max``.
        """
        size = tuple(size)
        b, k_max = batch_size, self.k_max
        slots = b * k_max
        partner = sample_partners(b, self.p_self, device, generator)
        table = self._tables(device)
        k = 1 + sample_categorical(table['layer_weights'], b, generator)
        lam = sample_layer_ratios(k, k_max, self.alpha, generator)
        active = torch.arange(k_max, device=device) < k[:, None]
        method = sample_categorical(table['method_weights'], slots,
                                    generator).view(b, k_max)
        method = torch.where(active, method, torch.full_like(method, -1))

        # index -1 (an inactive layer) picks the last entry, False
        augmentable = table['augmentable'][method.view(-1)]
        u = torch.rand(2, slots, device=device, generator=generator)
        rotate = augmentable & (u[0] < self.p_aug)
        affine = sample_rotation_shear(slots, self.rotation_range,
                                       self.shear_range, device, generator)
        n_win = len(self.windows(size))
        window = torch.randint(0, n_win, (slots, ), device=device,
                               generator=generator)
        smooth = augmentable & (u[1] < self.p_smooth)
        window = torch.where(smooth, window, torch.full_like(window, -1))

        slot_lam = lam[:, :k_max].reshape(-1)
        mask_params = {
            name: MASK_METHODS[name].sample(slot_lam, size, generator,
                                            **self.method_kwargs[name])
            for name in self.methods
        }
        return dict(partner=partner, k=k, lam=lam, method=method,
                    affine=affine, rotate=rotate, window=window,
                    mask_params=mask_params,
                    view=self.view.sample(b, device, generator))

    # ------------------------------------------------------------ applying
    def _compact(self, device) -> bool:
        if self.render == 'auto':
            return torch.device(device).type != 'cuda'
        return self.render == 'compact'

    def cut_masks(self, params: dict, size, device,
                  augment: bool = True) -> torch.Tensor:
        """Stage 3: every slot's cut mask, float32 ``(B, k_max, H, W)``;
        ``augment=False`` gives the masks before rotation, shear and
        smoothing."""
        size = tuple(size)
        method = params['method'].view(-1)
        compact = self._compact(device)
        masks = torch.zeros(method.shape[0], 1, *size, device=device)

        def renderer(name, rotated):
            spec, p = MASK_METHODS[name], params['mask_params'][name]
            if rotated and not (augment and spec.augmentable):
                return None

            def fn(index):
                affine = None
                if rotated:
                    affine = params['affine'] if index is None else \
                        params['affine'].index_select(0, index)
                return spec.render(take(p, index), size, affine)

            return fn

        # Group 2 m + r: method m, rotated and sheared (r = 1) or not, so
        # unrotated masks take the cheap separable paths.
        group = 2 * method + (params['rotate'] & augment).long()
        rows = CHUNK_PIXELS // (size[0] * size[1])
        if not compact:  # every method renders every slot: a quarter at a time
            rows = min(rows, -(-method.shape[0] // 4))
        masks = apply_by_group(
            masks, group,
            [renderer(m, r) for m in self.methods for r in (False, True)],
            compact, rows)
        if augment:
            masks = apply_by_group(
                masks, params['window'],
                [self._smoother(masks, w) for w in self.windows(size)],
                compact, rows)
        return masks.view(-1, self.k_max, *size)

    @staticmethod
    def _smoother(masks, window):
        return lambda index: box_filter(
            masks if index is None else masks.index_select(0, index), window)

    def merge(self, cut: torch.Tensor) -> torch.Tensor:
        """Stage 4: cut masks ``(B, k_max, H, W)`` to the keep mask, float32
        ``(B, 1, H, W)``: ``prod_j (1 - M_j)`` or ``1 - clip(sum_j M_j, 0,
        1)``."""
        if self.mask_merge == 'sum':
            return cut.sum(dim=1, keepdim=True).clamp_(max=1).neg_().add_(1)
        keep = 1 - cut[:, :1]
        for j in range(1, cut.shape[1]):  # layers, not samples
            keep.addcmul_(keep, cut[:, j:j + 1], value=-1)
        return keep

    def partner_images(self, inputs: torch.Tensor, params: dict,
                       second_view: Optional[torch.Tensor] = None
                       ) -> torch.Tensor:
        """Each sample's partner image, a new ``(B, C, H, W)`` tensor.

        Two-view path: taken from ``second_view``. One-view path: taken from
        ``inputs``, self-paired samples re-augmented by the second view.
        """
        partner = params['partner']
        if second_view is not None:
            return gather_partners(second_view, partner)
        images = gather_partners(inputs, partner)
        is_self = (partner == torch.arange(partner.shape[0],
                                           device=partner.device)).long()
        view = params['view']

        def second(index):
            if index is None:
                return self.view.render(inputs, view)
            return self.view.render(inputs.index_select(0, index),
                                    take(view, index))

        compact = self._compact(inputs.device)
        rows = CHUNK_PIXELS // images[0].numel()
        if not compact:  # the view of every image: a quarter at a time
            rows = min(rows, -(-partner.shape[0] // 4))
        return apply_by_group(images, is_self, [None, second], compact, rows)

    def apply(self, inputs: torch.Tensor, batch_score: torch.Tensor,
              params: dict, second_view: Optional[torch.Tensor] = None,
              details: bool = False):
        """Mix a batch with the draws ``params`` of :meth:`sample`.

        Returns ``(mixed, scores)``, or with ``details=True`` a dict of every
        stage (``partner_images``, ``cut`` / ``raw_cut`` masks ``(B, k_max,
        H, W)`` after / before augmentation, ``keep``, ``lam_label``,
        ``mixed``, ``scores``) for inspection and figures.
        """
        size = tuple(inputs.shape[-2:])
        cut = self.cut_masks(params, size, inputs.device)
        keep = self.merge(cut)
        partners = self.partner_images(inputs, params, second_view)
        mixed, scores, lam = blend(inputs, partners, keep, batch_score,
                                   params['partner'])
        if self.lam_merge == 'orig':
            lam = params['lam'][:, -1]
            scores = mix_scores(batch_score, params['partner'], lam)
        if not details:
            return mixed, scores
        return dict(params=params, partner_images=self.partner_images(
            inputs, params, second_view), cut=cut,
                    raw_cut=self.cut_masks(params, size, inputs.device,
                                           augment=False),
                    keep=keep, lam_label=lam, mixed=mixed, scores=scores)

    def __call__(self, inputs: torch.Tensor, batch_score: torch.Tensor,
                 second_view: Optional[torch.Tensor] = None,
                 generator: Generator = None):
        """Mix ``inputs`` (float ``(B, C, H, W)``) and ``batch_score`` (``(B,
        K)``); ``second_view``: the second views of the inputs, same shape,
        or None. Returns mixed inputs (dtype of inputs) and float32 scores."""
        params = self._check_and_sample(inputs, batch_score, second_view,
                                        generator)
        return self.apply(inputs, batch_score, params, second_view)

    def explain(self, inputs, batch_score, second_view=None, generator=None):
        """Like calling, but returns every stage: see :meth:`apply`."""
        params = self._check_and_sample(inputs, batch_score, second_view,
                                        generator)
        return self.apply(inputs, batch_score, params, second_view,
                          details=True)

    def _check_and_sample(self, inputs, batch_score, second_view, generator):
        check_batch(inputs, batch_score)
        if second_view is not None and second_view.shape != inputs.shape:
            raise ValueError('second_view must have the shape of inputs: '
                             f'{tuple(second_view.shape)} != '
                             f'{tuple(inputs.shape)}')
        return self.sample(inputs.shape[0], inputs.shape[-2:], inputs.device,
                           generator)

    def __repr__(self):
        return (f'MiAMix(alpha={self.alpha}, k_max={self.k_max}, '
                f'methods={self.methods}, '
                f'method_weights={self.method_weights}, '
                f'p_self={self.p_self}, p_aug={self.p_aug}, '
                f'p_smooth={self.p_smooth}, mask_merge={self.mask_merge!r}, '
                f'lam_merge={self.lam_merge!r})')
