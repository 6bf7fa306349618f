"""MiAMix: Multi-stage Augmented Mixup (Liang et al., 2023, Algorithm 1).

Four stages, each per sample and batched over the whole batch:

1. pairing: a random other sample, or with ``p_self`` the sample itself seen
   through a second view (§3.2.1);
2. sampling: ``k`` layers, ratios ``Dir(alpha, ..., alpha, k alpha)`` and a
   method per layer weighted by ``method_weights`` (§3.2.2);
3. masks: one cut mask per layer; cutmix, fmix and gridmix masks are warped
   (rotated and sheared) with ``p_aug`` and smoothed with ``p_smooth``
   (§3.2.3);
4. output: the masks merge into a keep mask (``mul`` or ``sum``), images
   mix as ``keep x + (1 - keep) x_partner`` and labels with the mean of
   ``keep`` (``merged``) or the sampled base share (``orig``) (§3.2.4).

All random draws happen first, in :meth:`MiAMix.sample`, as a
:class:`MiAMixDraws` (kornia style): a few large draws, whatever the batch
size. :meth:`MiAMix.apply` is deterministic. A batch of ``B`` samples has
``S = B * k_max`` mask *slots* (slot ``i * k_max + j`` is layer ``j`` of
sample ``i``); a slot beyond its sample's ``k`` asks for a share of 0, so
every method renders it empty.

Rendering (``render``): ``'dense'`` renders each mask *family* (boxes for
cutmix and gridmix, a Gaussian for gmix and agmix, noise for fmix, mixup's
constant) once over all slots and selects per slot, then smooths every slot
with its own window in one pass: no host-device sync, and an op count that
depends on neither the batch nor the image size (299 for the defaults). ``'compact'`` gathers each method's slots first (``nonzero``,
a sync on CUDA) and computes only those: less arithmetic, so faster on CPU.
Both give the same values draw for draw; ``'auto'`` is compact on CPU and
dense elsewhere.
"""
import math
import warnings
from dataclasses import dataclass, fields
from typing import Dict, Optional, Sequence, Tuple

import torch

from .blend import blend_images, gather_partners, mix_scores, needs_grad
from .checks import (check_alpha, check_choice,
                     check_method_kwargs, check_prob, check_range,
                     check_weights)
from .front import MixAugment
from .mask_augment import (check_windows, default_smooth_windows,
                           smooth_masks, smooth_separable, smoothing_kernels)
from .geometry import rotation_shear, warp, warp_theta
from .masks import (MASK_METHODS, Params, box_axes, fmix_band_shape,
                    fmix_noise, fmix_params, fmix_scale, gaussian_coefficients,
                    render_boxes, render_gaussian, threshold_owned_noise)
from .sampling import (Generator, categorical_from_uniform,
                       partners_from_uniform)
from .second_view import ViewConfig

DEFAULT_METHODS = ('mixup', 'cutmix', 'fmix', 'gridmix', 'agmix')

#: Uniforms per slot before the methods' own: method, warp, smooth, window,
#: rotation, shear.
_SLOT_UNIFORMS = 6
#: The one-view path renders second views in this many batch chunks, which
#: bounds their temporaries (sampling grid and view) to half a batch.
VIEW_CHUNKS = 2
#: The dense path smooths the slots in this many chunks: the padded masks,
#: the convolution's reordered input and its output stay within a mask
#: buffer.
SMOOTH_CHUNKS = 2


@dataclass
class MiAMixDraws:
    """Every random draw of one MiAMix call, tensors on one device.

    ``B`` samples, ``S = B * k_max`` slots (slot ``i * k_max + j`` is layer
    ``j`` of sample ``i``).

    Attributes:
        partner: long ``(B,)``, each sample's partner (itself with
            ``p_self``).
        k0: long ``(B,)``, number of layers minus one (``k`` is a property:
            the number of layers, in [1, k_max]).
        ratios: float32 ``(B, k_max + 1)``, the Dirichlet draw: columns
            ``0..k-1`` the partner shares asked of the layers' masks (0 for
            layers beyond ``k``), the last column the base share
            ``lambda_{k+1}``.
        active: bool ``(B, k_max)``, layer ``j < k``.
        method: long ``(B, k_max)``, index into ``MiAMix.methods`` (drawn
            for every slot; only active ones matter).
        warp: bool ``(S,)``, the slot's mask is rotated and sheared.
        affine: float32 ``(S, 2, 2)``, that rotation and shear (where
            ``warp``; the identity elsewhere).
        smooth: bool ``(S,)``, the slot's mask is smoothed.
        window: long ``(S,)``, index into ``MiAMix.windows(size)`` (where
            ``smooth``).
        masks: per method name, every slot's mask parameters, tensors of
            ``S`` rows (see :mod:`.masks`).
        view: the one-view path's second-view draws, per sample (see
            :class:`~.second_view.ViewConfig`).
    """
    partner: torch.Tensor
    k0: torch.Tensor
    ratios: torch.Tensor
    active: torch.Tensor
    method: torch.Tensor
    warp: torch.Tensor
    affine: torch.Tensor
    smooth: torch.Tensor
    window: torch.Tensor
    masks: Dict[str, Params]
    view: Dict[str, torch.Tensor]

    @property
    def k(self) -> torch.Tensor:
        """Number of layers of each sample: long ``(B,)`` in [1, k_max]."""
        return self.k0 + 1

    @property
    def base_share(self) -> torch.Tensor:
        """``lambda_{k+1}``, the share left to the base image: float32
        ``(B,)``."""
        return self.ratios[:, -1]

    def slots(self, index: torch.Tensor) -> Dict[str, Params]:
        """The mask parameters of the slots ``index`` (long ``(n,)``)."""
        return {name: {key: value.index_select(0, index)
                       for key, value in params.items()}
                for name, params in self.masks.items()}

    def to_dict(self) -> dict:
        """The draws as a plain dict (for saving or printing)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


class MiAMix(MixAugment):
    """Multi-stage Augmented Mixup; defaults from the paper's Table 2.

    Call as ``mixed, scores = aug(inputs, targets)`` or, on the two-view
    path, ``aug(inputs, targets, second_view=views)``.

    Args:
        alpha (float): Dirichlet parameter of the ratios, in (0, 1e6].
            Default 2.0.
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
        smooth_filter (str): ``'gaussian'`` (§4.7, default) or ``'box'``
            (§3.2.3's average filter); see :mod:`.mask_augment`.
        view_cfg (dict, optional): :class:`ViewConfig` arguments of the
            one-view path's second view (flip, crop-and-resize, shift).
            Formerly ``second_view`` (still accepted, deprecated).
        method_kwargs (dict, optional): per-method arguments, e.g.
            ``dict(fmix=dict(decay_power=3.0),
            agmix=dict(q_range=(-.5, .5)))``.
        render (str): ``'dense'``, ``'compact'`` or ``'auto'`` (default):
            see the module docstring. Results are the same.
        num_classes, label_smoothing, prob, check_values: the front door of
            every augment, see :class:`~.front.MixAugment`.
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
                 smooth_filter: str = 'gaussian',
                 view_cfg: Optional[dict] = None,
                 method_kwargs: Optional[Dict[str, dict]] = None,
                 render: str = 'auto',
                 num_classes: Optional[int] = None,
                 label_smoothing: float = 0.0,
                 prob: float = 1.0,
                 check_values: bool = False,
                 second_view: Optional[dict] = None):
        super().__init__(num_classes, label_smoothing, prob, check_values)
        self.alpha = check_alpha('alpha', alpha)
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
        self.smooth_filter = check_choice('smooth_filter', smooth_filter,
                                          ('gaussian', 'box'))
        if second_view is not None:
            if view_cfg is not None:
                raise ValueError('give view_cfg or its old name second_view, '
                                 'not both')
            warnings.warn('MiAMix(second_view=...) is now view_cfg=...',
                          DeprecationWarning, stacklevel=2)
            view_cfg = second_view
        if view_cfg is not None and not isinstance(view_cfg, dict):
            raise TypeError(f'view_cfg must be a dict of ViewConfig '
                            f'arguments, got {type(view_cfg).__name__}')
        self.view = ViewConfig(**(view_cfg or {}))
        method_kwargs = dict(method_kwargs or {})
        for name in method_kwargs:
            check_choice('method_kwargs', name, self.methods)
        self.method_kwargs = {
            name: check_method_kwargs(name, method_kwargs.get(name, {}))
            for name in self.methods
        }
        self.render = check_choice('render', render,
                                   ('auto', 'compact', 'dense'))
        self._cache_tables = {}

    # ------------------------------------------------------------- tables
    def windows(self, size) -> Tuple[int, ...]:
        """Smoothing windows used at image size ``(H, W)``."""
        return self.smooth_windows or default_smooth_windows(tuple(size))

    def _tables(self, size, device) -> Dict[str, torch.Tensor]:
        """Constant tensors of one call, made once per device, size and
        setting (a tensor literal in every call would be a host-to-device
        copy, which waits on CUDA): cumulative weights, per-method flags,
        the identity warp, the smoothing kernels and FMix's amplitudes."""
        size, device = tuple(size), torch.device(device)
        windows = self.windows(size)
        fmix = self.method_kwargs.get('fmix')
        key = (device, size, self.methods, self.layer_weights,
               self.method_weights, windows, self.smooth_filter,
               fmix and fmix['decay_power'], self.alpha, self.k_max,
               self.rotation_range, self.shear_range)
        table = self._cache_tables.get(key)
        if table is not None:
            return table

        def cumulative(weights):
            w = torch.tensor(weights, dtype=torch.float64)
            return (w.cumsum(0) / w.sum()).to(device)

        specs = [MASK_METHODS[m] for m in self.methods]
        families = ('constant', 'boxes', 'gaussian', 'noise')
        table = dict(
            layer_cumulative=cumulative(self.layer_weights),
            method_cumulative=cumulative(self.method_weights),
            augmentable=torch.tensor([s.augmentable for s in specs],
                                     device=device),
            boxes=torch.tensor([s.family == 'boxes' for s in specs],
                               device=device),
            family=torch.tensor([families.index(s.family) for s in specs],
                                device=device),
            identity=torch.eye(2, device=device).view(1, 2, 2),
            kernels=smoothing_kernels(windows, self.smooth_filter, device))
        # Per k = 1..k_max: the Dirichlet's concentrations (alpha for the
        # k layers, 0 for the inactive ones, k alpha for the base share).
        k_max, alpha = self.k_max, self.alpha
        conc = torch.tensor([[alpha if j < k else 0.0 for j in range(k_max)] +
                             [k * alpha] for k in range(1, k_max + 1)],
                            dtype=torch.float64)
        table.update(
            conc_plus_1=(conc + 1).to(device),
            inv_conc=torch.where(conc > 0, 1 / conc.clamp_min(1e-300),
                                 0.0).to(device),
            inactive=(conc == 0).to(device),
            layer_active=(conc[:, :k_max] > 0).to(device))
        # The per-slot uniforms scaled to their ranges: method, warp, smooth
        # in [0, 1), window in [0, n), rotation and shear in radians.
        rot = [math.radians(v) for v in self.rotation_range]
        shr = [math.radians(v) for v in self.shear_range]
        table['slot_low'] = torch.tensor(
            [0.0, 0.0, 0.0, 0.0, rot[0], shr[0]],
            device=device).view(-1, 1, 1)
        table['slot_span'] = torch.tensor(
            [1.0, 1.0, 1.0, len(windows) - 1e-4, rot[1] - rot[0],
             shr[1] - shr[0]], device=device).view(-1, 1, 1)
        if fmix is not None:
            table['fmix_scale'] = fmix_scale(size, fmix['decay_power'],
                                             device)
        if len(self._cache_tables) > 16:
            self._cache_tables.clear()
        self._cache_tables[key] = table
        return table

    # ------------------------------------------------------------ sampling
    def sample(self, batch_size: int, size, device,
               generator: Generator = None) -> MiAMixDraws:
        """Every random draw of one call (stages 1-3) as a
        :class:`MiAMixDraws` on ``device``: one uniform draw per sample, two
        per slot, the Dirichlet's Gamma draw and, with fmix, its normals."""
        size = tuple(size)
        b, k_max = batch_size, self.k_max
        table = self._tables(size, device)
        n_ratio = k_max + 1
        per_sample = torch.rand(b, 3 + n_ratio + self.view.n_uniform,
                                device=device, generator=generator)
        u_self, u_other, u_k = per_sample[:, :3].unbind(1)
        partner = partners_from_uniform(u_self, u_other, self.p_self)
        k0 = categorical_from_uniform(table['layer_cumulative'], u_k)
        # (lambda_1..lambda_k, lambda_k+1) ~ Dir(alpha, .., alpha, k alpha),
        # in log space (exact for any alpha): log G(a) = log G(a + 1) +
        # log(U) / a, shares = softmax over the k + 1 active entries.
        boost = 1 - per_sample[:, 3:3 + n_ratio].double()  # U in (0, 1]
        log_g = torch.addcmul(
            torch._standard_gamma(table['conc_plus_1'][k0],
                                  generator=generator).log(),
            boost.log(), table['inv_conc'][k0])
        ratios = torch.softmax(log_g.masked_fill_(table['inactive'][k0],
                                                  float('-inf')), 1).float()
        active = table['layer_active'][k0]

        # method, warp, smooth, window, rotation, shear (scaled in one op)
        u_method, u_warp, u_smooth, window, angle, shear = torch.addcmul(
            table['slot_low'], torch.rand(_SLOT_UNIFORMS, b, k_max,
                                          device=device, generator=generator),
            table['slot_span']).unbind(0)
        method = categorical_from_uniform(table['method_cumulative'],
                                          u_method)
        augmentable = table['augmentable'][method] & active
        warp_ = augmentable & (u_warp < self.p_aug)
        smooth = augmentable & (u_smooth < self.p_smooth)
        window = window.long()
        affine = torch.where(warp_.view(b, k_max, 1, 1),
                             rotation_shear(angle, shear), table['identity'])

        slots = b * k_max
        share = ratios[:, :k_max].reshape(slots)
        n_mask = max(MASK_METHODS[m].n_uniform for m in self.methods)
        u = torch.rand(slots, n_mask, device=device,
                       generator=generator) if n_mask else None
        masks = {}
        for name in self.methods:
            kwargs = self.method_kwargs[name]
            if name == 'fmix':
                normal = torch.randn(slots, *fmix_band_shape(size), 2,
                                     device=device, generator=generator)
                masks[name] = fmix_params(share, normal, size,
                                          table['fmix_scale'],
                                          kwargs['max_soft'])
            else:
                masks[name] = MASK_METHODS[name].params(share, u, size,
                                                        **kwargs)
        return MiAMixDraws(
            partner=partner, k0=k0, ratios=ratios, active=active,
            method=method, warp=warp_, affine=affine, smooth=smooth,
            window=window, masks=masks,
            view=self.view.params(per_sample[:, 3 + n_ratio:]))

    # ------------------------------------------------------------ rendering
    def _compact(self, device) -> bool:
        if self.render == 'auto':
            return torch.device(device).type == 'cpu'
        return self.render == 'compact'

    def cut_masks(self, draws: MiAMixDraws, size, device,
                  augment: bool = True) -> torch.Tensor:
        """Stage 3: every slot's cut mask, float32 ``(B, k_max, H, W)``;
        ``augment=False`` gives the masks before warping and smoothing."""
        size = tuple(size)
        if self._compact(device):
            return self._compact_cuts(draws, size, device, augment)
        return self._dense_cuts(draws, size, device, augment)

    def keep_mask(self, draws: MiAMixDraws, size, device) -> torch.Tensor:
        """Stages 3-4: the keep mask, float32 ``(B, 1, H, W)`` in [0, 1]:
        ``prod_j (1 - M_j)`` or ``1 - clip(sum_j M_j, 0, 1)``."""
        # The compact path (CPU) merges into the cut masks' buffer: a new
        # buffer would cost its page faults (2 ms at 64x224x224).
        return self.merge(self.cut_masks(draws, size, device),
                          inplace=self._compact(device))

    def merge(self, cut: torch.Tensor, inplace: bool = False
              ) -> torch.Tensor:
        """Stage 4: cut masks ``(B, k_max, H, W)`` to the keep mask, float32
        ``(B, 1, H, W)``; ``inplace``: into ``cut``'s first layer (a
        strided view; ``cut`` is given up)."""
        first = cut[:, :1]
        if self.mask_merge == 'sum':
            if not inplace:
                return cut.sum(dim=1, keepdim=True).clamp_(max=1).neg_() \
                    .add_(1)
            for j in range(1, cut.shape[1]):  # layers, not samples
                first.add_(cut[:, j:j + 1])
            return first.clamp_(max=1).neg_().add_(1)
        keep = first.neg_().add_(1) if inplace else 1 - first
        for j in range(1, cut.shape[1]):  # layers, not samples
            keep.addcmul_(keep, cut[:, j:j + 1], value=-1)
        return keep

    def _dense_cuts(self, draws: MiAMixDraws, size, device,
                    augment: bool) -> torch.Tensor:
        """Every slot's cut mask with no host sync: each mask family (FMix's
        noise, the boxes of cutmix and gridmix, the Gaussians of gmix and
        agmix, mixup's constant) rendered once over all ``S = B * k_max``
        slots, selected per slot, then every slot smoothed with its own
        window in one pass. Float32 ``(B, k_max, H, W)``.

        FMix goes first, so its sort and sampling grid are alive before the
        mask buffer is."""
        table = self._tables(size, device)
        b, k_max = draws.method.shape
        slots = b * k_max

        def flat(t):  # (B, k_max, ...) -> (S, ...)
            return t.reshape(slots, *t.shape[2:])

        method = flat(draws.method)
        affine = flat(draws.affine) if augment else None
        families = {}
        for m, name in enumerate(self.methods):
            families.setdefault(MASK_METHODS[name].family, []).append(m)
        code = table['family'][method].view(-1, 1, 1, 1) \
            if len(families) > 1 else None
        cut = None
        for fam in ('noise', 'boxes', 'gaussian', 'constant'):
            members = families.get(fam)
            if members is None:
                continue
            if fam == 'noise':
                params = draws.masks['fmix']
                noise = fmix_noise(params, size)
                if augment:
                    theta = warp_theta(affine, size)
                    warped = warp(noise, None, theta=theta, lean=True)
                    torch.where(flat(draws.warp).view(-1, 1, 1, 1), warped,
                                noise, out=noise)
                    del warped
                holder = [noise]
                del noise  # the threshold gives up the noise's storage
                field = threshold_owned_noise(holder, params)
            elif fam == 'constant':
                field = draws.masks[self.methods[members[0]]]['lam']
                field = field.view(-1, 1, 1, 1)
            else:
                value = None
                for m in members:
                    params = draws.masks[self.methods[m]]
                    own = (MASK_METHODS[self.methods[m]].family_params(params)
                           if fam == 'boxes' else
                           gaussian_coefficients(params, size))
                    value = own if value is None else torch.where(
                        (method == m).view(-1, *[1] * (own.dim() - 1)),
                        own, value)
                if fam == 'boxes':
                    field = render_boxes(value, size, affine)
                else:
                    field = render_gaussian(value, size)
            if cut is None:  # the first family's masks become the buffer
                cut = field if field.shape == (slots, 1, *size) else \
                    field.expand(slots, 1, *size).contiguous()
            else:
                index = ('constant', 'boxes', 'gaussian', 'noise').index(fam)
                torch.where(code == index, field, cut, out=cut)
            del field
        if augment and self.p_smooth > 0 and any(
                MASK_METHODS[m].augmentable for m in self.methods):
            # every slot filtered with its drawn window, kept where smooth
            kernels = table['kernels'][flat(draws.window)]
            for part, kernel, hit in zip(
                    cut.chunk(SMOOTH_CHUNKS), kernels.chunk(SMOOTH_CHUNKS),
                    flat(draws.smooth).view(-1, 1, 1, 1).chunk(
                        SMOOTH_CHUNKS)):
                torch.where(hit, smooth_masks(part, kernel), part, out=part)
        return cut.view(b, k_max, *size)

    def _compact_cuts(self, draws: MiAMixDraws, size, device,
                      augment: bool) -> torch.Tensor:
        """Every slot's cut mask, computing only the slots each method got
        (``nonzero``: a host sync on CUDA). Unwarped boxes that are smoothed
        are rendered and smoothed as rows times columns. Float32 ``(B,
        k_max, H, W)``."""
        table = self._tables(size, device)

        def slots(t):  # (B, k_max, ...) -> (S, ...)
            return t.reshape(-1, *t.shape[2:])

        def params(name, index):  # the method's draws of those slots
            return {key: value.index_select(0, index)
                    for key, value in draws.masks[name].items()}

        method, active = slots(draws.method), slots(draws.active)
        # every active slot is written below; only the others need zeros
        cuts = torch.empty(method.shape[0], 1, *size, device=device)
        cuts.index_fill_(0, (~active).nonzero().squeeze(1), 0.0)
        warped = slots(draws.warp) & augment
        smooth = slots(draws.smooth) & augment
        kernels = table['kernels'][slots(draws.window)]
        separable = smooth & ~warped & table['boxes'][method]
        affines = slots(draws.affine)
        for m, name in enumerate(self.methods):
            spec = MASK_METHODS[name]
            for rotated in (False, True):
                hit = active & (method == m) & (warped == rotated)
                index = (hit & ~separable).nonzero().squeeze(1)
                if index.numel():
                    affine = affines.index_select(0, index) if rotated \
                        else None
                    cuts.index_copy_(0, index, spec.render(
                        params(name, index), size, affine)
                        .expand(-1, 1, *size).float())
                index = (hit & separable).nonzero().squeeze(1)
                if index.numel():
                    rows, cols = box_axes(
                        spec.family_params(params(name, index)), size)
                    cuts.index_copy_(0, index, smooth_separable(
                        rows.float(), cols.float(),
                        kernels.index_select(0, index)))
        index = (smooth & ~separable).nonzero().squeeze(1)
        if index.numel():
            cuts.index_copy_(0, index, smooth_masks(
                cuts.index_select(0, index), kernels.index_select(0, index)))
        return cuts.view(-1, self.k_max, *size)

    # ----------------------------------------------------------- partners
    def partner_images(self, inputs: torch.Tensor, draws: MiAMixDraws,
                       second_view: Optional[torch.Tensor] = None
                       ) -> torch.Tensor:
        """Each sample's partner image, a new ``(B, C, H, W)`` tensor.

        Two-view path: taken from ``second_view``. One-view path: taken from
        ``inputs``, self-paired samples re-augmented by the second view.
        """
        partner = draws.partner
        if second_view is not None:
            return gather_partners(second_view, partner)
        images = gather_partners(inputs, partner)
        b = inputs.shape[0]
        if self.p_self == 0 and b > 1:
            return images  # nobody pairs with itself
        is_self = partner == torch.arange(b, device=partner.device)
        if self._compact(inputs.device):
            index = is_self.nonzero().squeeze(1)
            if index.numel():
                view = {k: v.index_select(0, index)
                        for k, v in draws.view.items()}
                seconds = self.view.render(inputs.index_select(0, index), view,
                                           lean=True)
                images = images.index_copy(0, index, seconds) \
                    if needs_grad(images) else \
                    images.index_copy_(0, index, seconds)
            return images
        parts = []
        keys = list(draws.view)
        views = zip(*(v.chunk(VIEW_CHUNKS) for v in draws.view.values()))
        for image, part, view, hit in zip(
                inputs.chunk(VIEW_CHUNKS), images.chunk(VIEW_CHUNKS), views,
                is_self.view(-1, 1, 1, 1).chunk(VIEW_CHUNKS)):
            seconds = self.view.render(image, dict(zip(keys, view)))
            if needs_grad(images, seconds):
                parts.append(torch.where(hit, seconds, part))
            else:
                torch.where(hit, seconds, part, out=part)
                parts.append(None)
            del seconds
        if parts and parts[0] is not None:
            return torch.cat(parts)
        return images

    # ------------------------------------------------------------ applying
    def apply(self, inputs: torch.Tensor, batch_score: torch.Tensor,
              draws: MiAMixDraws, second_view: Optional[torch.Tensor] = None
              ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Mix a batch with the draws of :meth:`sample`: ``(mixed, scores)``,
        mixed images (dtype of inputs) and float32 scores ``(B, K)``."""
        record = self._apply(inputs, batch_score, draws, second_view, False)
        return record['mixed'], record['scores']

    def _apply(self, inputs, batch_score, draws, second_view, details):
        size = tuple(inputs.shape[-2:])
        record = {}
        if details:
            cut = self.cut_masks(draws, size, inputs.device)
            keep = self.merge(cut)
            record.update(cut=cut, raw_cut=self.cut_masks(
                draws, size, inputs.device, augment=False))
        else:
            keep = self.keep_mask(draws, size, inputs.device)
        # After the masks: their temporaries and the partner batch are
        # never alive at once.
        partners = self.partner_images(inputs, draws, second_view)
        weight = keep.to(inputs.dtype).float().mean(dim=(1, 2, 3))
        if self.lam_merge == 'orig':
            weight = draws.base_share
        if details:
            record.update(partner_images=partners.clone())
        mixed = blend_images(inputs, partners, keep, inplace=True,
                             sync_free=not self._compact(inputs.device))
        scores = mix_scores(batch_score, draws.partner, weight)
        record.update(draws=draws, keep=keep, weight=weight, mixed=mixed,
                      scores=scores)
        return record

    def mix(self, inputs: torch.Tensor, scores: torch.Tensor,
            generator: Generator = None,
            second_view: Optional[torch.Tensor] = None):
        """Draw with :meth:`sample` and mix with :meth:`apply`."""
        self._check_second_view(inputs, second_view)
        draws = self.sample(inputs.shape[0], inputs.shape[-2:],
                            inputs.device, generator)
        return self.apply(inputs, scores, draws, second_view)

    def __call__(self, inputs: torch.Tensor, batch_score: torch.Tensor,
                 second_view: Optional[torch.Tensor] = None,
                 generator: Generator = None):
        """Mix ``inputs`` (float ``(B, C, H, W)``) and ``batch_score``
        (``(B, K)`` scores or, with ``num_classes``, ``(B,)`` class
        indices); ``second_view``: the inputs' second views (same shape,
        dtype and device) or None. Returns the mixed inputs (dtype of
        inputs) and float32 scores ``(B, K)``."""
        return super().__call__(inputs, batch_score, generator,
                                second_view=second_view)

    def explain(self, inputs: torch.Tensor, batch_score: torch.Tensor,
                second_view: Optional[torch.Tensor] = None,
                generator: Generator = None) -> dict:
        """One call with every stage recorded: a dict of ``draws``
        (:class:`MiAMixDraws`), ``partner_images``, ``raw_cut`` and ``cut``
        (float32 ``(B, k_max, H, W)``, the cut masks before and after
        warping and smoothing), ``keep`` (``(B, 1, H, W)``), ``weight``
        (float32 ``(B,)``, the base image's label weight), ``mixed`` and
        ``scores``. The unaugmented ``raw_cut`` is rendered for the record;
        everything else once."""
        self.check_inputs(inputs)
        scores = self.scores(batch_score, inputs)
        self._check_second_view(inputs, second_view)
        draws = self.sample(inputs.shape[0], inputs.shape[-2:], inputs.device,
                            generator)
        with torch.autocast(inputs.device.type, enabled=False):
            record = self._apply(inputs, scores, draws, second_view, True)
        record['scores'] = self.smooth(record['scores'])
        return record

    @staticmethod
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

    def __repr__(self):
        return (f'MiAMix(alpha={self.alpha}, k_max={self.k_max}, '
                f'methods={self.methods}, '
                f'method_weights={self.method_weights}, '
                f'p_self={self.p_self}, p_aug={self.p_aug}, '
                f'p_smooth={self.p_smooth}, mask_merge={self.mask_merge!r}, '
                f'lam_merge={self.lam_merge!r})')


__all__ = ['DEFAULT_METHODS', 'MiAMix', 'MiAMixDraws']
