"""Every random draw of one MiAMix call (stages 1-3), kornia style: a few
large draws whatever the batch size, made before anything is rendered.

A batch of ``B`` samples has ``S = B * k_max`` mask *slots* (slot ``i *
k_max + j`` is layer ``j`` of sample ``i``). The layer counts, the
self-pairings and each active slot's group (method, warp, smoothing) are
stratified draws laid out by the call's :class:`~.plan.Plan`: every group
owns a fixed number of *rows*, the rows its slots render in; a row beyond
its group's count is unused (its sample is ``B``).
"""
import math
from dataclasses import dataclass, fields
from typing import Dict, Optional, Tuple

import torch

from .constants import arange, device_constant
from .geometry import rotation_shear
from .methods import Params, get_method
from .plan import Plan, systematic_starts
from .sampling import Generator, dirichlet_from_log_space

#: Uniforms per sample before the second view's: the sample's place in the
#: stratified pairings and layer counts, then the Dirichlet's ``k_max + 1``.
SAMPLE_UNIFORMS = 1
#: Uniforms per row before the methods' own: window, rotation, shear.
ROW_UNIFORMS = 3


@dataclass
class MiAMixDraws:
    """Every random draw of one MiAMix call, tensors on one device.

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
        entry: long ``(R,)``, each row's entry of ``ratios`` (flattened:
            ``i * (k_max + 1) + j`` for layer ``j`` of sample ``i``; any
            entry for an unused row).
        sample: long ``(R,)``, each row's sample (``B``: unused).
        window: long ``(R,)``, each row's index into ``MiAMix.windows(size)``
            (``len(windows)``, the identity kernel, where not smoothed).
        affine: float32 ``(R, 2, 2)``, each row's rotation and shear (the
            identity where not warped).
        masks: per method name, the mask parameters of every row (see
            :mod:`.methods`); those of the method's own rows are its masks'.
        view: the one-view path's second-view draws, per sample (see
            :class:`~.second_view.ViewConfig`).
        self_index: long ``(self_cap,)``, distinct samples, the self-paired
            ones first; ``self_valid`` (bool, same shape) marks those.
        plan: the :class:`~.plan.Plan` of the rows.
        unmixed: bool ``(B,)``, the samples passed through unmixed (``prob
            < 1``: kept whole, with their own label), or None.
    """
    partner: torch.Tensor
    k0: torch.Tensor
    ratios: torch.Tensor
    active: torch.Tensor
    entry: torch.Tensor
    sample: torch.Tensor
    window: torch.Tensor
    affine: torch.Tensor
    masks: Dict[str, Params]
    view: Dict[str, torch.Tensor]
    self_index: torch.Tensor
    self_valid: torch.Tensor
    plan: Plan
    unmixed: Optional[torch.Tensor] = None

    @property
    def k(self) -> torch.Tensor:
        """Number of layers of each sample: long ``(B,)`` in [1, k_max]."""
        return self.k0 + 1

    @property
    def base_share(self) -> torch.Tensor:
        """``lambda_{k+1}``, the share left to the base image: float32
        ``(B,)``."""
        return self.ratios[:, -1]

    def row_slots(self) -> torch.Tensor:
        """Each row's slot ``i * k_max + j``: long ``(R,)``, ``S`` where
        the row is unused."""
        b = self.active.shape[0]
        return torch.where(self.sample < b, self.entry - self.sample,
                           self.active.numel())

    def slot_rows(self) -> torch.Tensor:
        """The row of each slot: long ``(B, k_max)``, -1 where inactive."""
        b, k_max = self.active.shape
        rows = torch.full((b * k_max + 1, ), -1, dtype=torch.long,
                          device=self.entry.device)
        rows.index_copy_(0, self.row_slots(), arange(self.entry.shape[0],
                                                     self.entry.device))
        return rows[:-1].view(b, k_max)

    def _per_slot(self, values, fill) -> torch.Tensor:
        """A per-group value at each slot, ``fill`` where inactive."""
        rows = self.slot_rows()
        table = torch.tensor(list(values) + [fill], device=rows.device)
        group = torch.where(rows >= 0, self.plan.row_group[rows.clamp(min=0)],
                            len(values))
        return table[group]

    @property
    def method(self) -> torch.Tensor:
        """Each slot's method (index into ``MiAMix.methods``): long ``(B,
        k_max)``, -1 where inactive."""
        return self._per_slot([g.method for g in self.plan.groups], -1)

    @property
    def warp(self) -> torch.Tensor:
        """Whether each slot's mask is rotated and sheared: bool ``(B,
        k_max)``."""
        return self._per_slot([g.warp for g in self.plan.groups], False)

    @property
    def smooth(self) -> torch.Tensor:
        """Whether each slot's mask is smoothed: bool ``(B, k_max)``."""
        return self._per_slot([g.smooth for g in self.plan.groups], False)

    def to_dict(self) -> dict:
        """The draws as a plain dict (for saving or printing)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@device_constant
def dirichlet_tables(alpha: float, k_max: int, device):
    """Per ``k = 1..k_max``, rows of the ratios' Dirichlet ``Dir(alpha, ..,
    alpha, k alpha)`` (0 for the inactive layers) as
    :func:`~.sampling.dirichlet_from_log_space` takes them, and the layers'
    activity: ``(conc + 1, 1 / conc, inactive, layer_active)``."""
    conc = torch.tensor([[alpha if j < k else 0.0 for j in range(k_max)] +
                         [k * alpha] for k in range(1, k_max + 1)],
                        dtype=torch.float64)
    inv = torch.where(conc > 0, 1 / conc.clamp_min(1e-300), 0.0)
    return ((conc + 1).to(device), inv.to(device), (conc == 0).to(device),
            (conc[:, :k_max] > 0).to(device))


@device_constant
def row_ranges(plan: Plan, rotation: Tuple[float, float],
               shear: Tuple[float, float], n_windows: int, device):
    """Each row's ``(low, span)`` of its window, rotation and shear
    uniforms, float32 ``(R, 3)``: windows in ``[0, n_windows)`` where
    smoothed (else ``n_windows``, the identity), angles in radians where
    warped (else 0: the identity warp, exactly)."""
    rot = [math.radians(v) for v in rotation]
    shr = [math.radians(v) for v in shear]
    low, span = [], []
    for group, cap in zip(plan.groups, plan.caps):
        smooth = [0.0, n_windows - 1e-4] if group.smooth else [n_windows, 0.0]
        warp = [rot[0], rot[1] - rot[0], shr[0], shr[1] - shr[0]] \
            if group.warp else [0.0] * 4
        low += [[smooth[0], warp[0], warp[2]]] * cap
        span += [[smooth[1], warp[1], warp[3]]] * cap
    return (torch.tensor(low, device=device).view(-1, 3),
            torch.tensor(span, device=device).view(-1, 3))


@device_constant
def _denominators(plan: Plan, device) -> torch.Tensor:
    """The denominators of the samples' and the slots' strata, float64
    ``(2,)``."""
    return torch.tensor([float(q) for q in plan.denominators],
                        dtype=torch.float64, device=device)


def sample_draws(aug, batch_size: int, size, device,
                 generator: Generator = None) -> MiAMixDraws:
    """Every random draw of one call of ``aug`` (a MiAMix) for a batch of
    ``batch_size`` images of ``size``."""
    size, b, k_max = tuple(size), batch_size, aug.k_max
    plan = aug.plan(b, device)
    n_ratio = k_max + 1
    n_view = aug.view.n_uniform
    per_sample = torch.rand(b, SAMPLE_UNIFORMS + n_ratio + n_view +
                            (aug.prob < 1), device=device, generator=generator)
    # one offset per stratum (the samples', the slots'), uniform in [0,
    # denominator)
    offsets = torch.rand(2, dtype=torch.float64, device=device,
                         generator=generator).mul_(
        _denominators(plan, device)).long()
    pairs, k0 = _samples(plan, per_sample[:, 0], offsets[0], generator)
    plus_1, inv, inactive, layer_active = dirichlet_tables(
        aug.alpha, k_max, device)
    base = SAMPLE_UNIFORMS
    ratios = dirichlet_from_log_space(
        plus_1[k0], inv[k0], inactive[k0],
        1 - per_sample[:, base:base + n_ratio].double(), generator)
    entry, sample = _slots(plan, k0, offsets[1], generator)
    rows = _row_draws(aug, plan, entry, ratios, size, generator)
    view = per_sample[:, base + n_ratio:base + n_ratio + n_view]
    return MiAMixDraws(
        k0=k0, ratios=ratios, active=layer_active[k0], entry=entry,
        sample=sample, view=aug.view.params(view), plan=plan,
        unmixed=per_sample[:, -1] >= aug.prob if aug.prob < 1 else None,
        **pairs, **rows)


def _order(keys: torch.Tensor) -> torch.Tensor:
    """A uniform random permutation from uniform keys: long."""
    return torch.argsort(keys)


def _samples(plan: Plan, u_order, offset, generator):
    """Stages 1-2: each sample's pairing and layer count, a stratified
    draw of the joint categories (self-paired with ``k`` layers for ``k =
    1..k_max``, then paired with another sample) given to the samples in
    random order; a sample not paired with itself pairs with a uniform
    other one. Returns the pairing draws and ``k0``."""
    b, k_max, device = plan.batch, plan.k_max, u_order.device
    index = arange(b, device)
    order = _order(u_order)
    starts = systematic_starts(plan.samples, b, offset)
    at = torch.searchsorted(starts[1:-1], index, right=True)  # by position
    category = torch.empty_like(index).index_copy_(0, order, at)
    other = torch.randint(max(b - 1, 1), (b, ), device=device,
                          generator=generator)
    partner = torch.where(category < k_max, index,
                          (other + _next(b, device)) % b)
    return dict(partner=partner, self_index=order[:plan.self_cap],
                self_valid=arange(plan.self_cap, device) < starts[k_max]), \
        category.remainder_(k_max)


@device_constant
def _next(n: int, device) -> torch.Tensor:
    """``arange(n) + 1`` on ``device``."""
    return torch.arange(1, n + 1, device=device)


@device_constant
def _unused_entries(k_max: int, device) -> torch.Tensor:
    """Per ``k``, the entries of a ratios row no slot renders (the layers
    beyond ``k`` and the base share): bool ``(k_max, k_max + 1)``."""
    return torch.arange(k_max + 1, device=device) >= torch.arange(
        1, k_max + 1, device=device).view(-1, 1)


def _slots(plan: Plan, k0, offset, generator):
    """Each row's entry and sample: the active slots in random order, cut
    into the groups' stratified counts."""
    b, k_max = plan.batch, plan.k_max
    keys = torch.rand(b, k_max + 1, device=k0.device, generator=generator)
    order = _order(keys.masked_fill_(_unused_entries(k_max, k0.device)[k0],
                                     2.0).view(-1))
    starts = systematic_starts(plan.slots, k0.sum() + b, offset)
    position = starts[plan.row_group] + plan.row_offset
    entry = order[position.clamp_(max=order.shape[0] - 1)]
    unused = position >= starts[plan.row_group_next]
    sample = torch.div(entry, k_max + 1, rounding_mode='floor')
    return entry, sample.masked_fill_(unused, b)


def _row_draws(aug, plan, entry, ratios, size, generator) -> dict:
    """Each row's window, warp and mask parameters."""
    device, n_rows = entry.device, plan.rows
    specs = [get_method(m) for m in aug.methods]
    n_uniform = max(s.n_uniform for s in specs)
    low, span = row_ranges(plan, aug.rotation_range, aug.shear_range,
                           len(aug.windows(size)), device)
    u = torch.rand(n_rows, ROW_UNIFORMS + n_uniform, device=device,
                   generator=generator)
    window, angle, shear = torch.addcmul(low, u[:, :ROW_UNIFORMS],
                                         span).unbind(1)
    u = u[:, ROW_UNIFORMS:]
    shares = ratios.view(-1).index_select(0, entry)
    masks = {}
    for index, _, _ in plan.method_rows:  # tiny: every row, for fewer ops
        spec = specs[index]
        random = u if spec.normal_shape is None else spec.draw(
            n_rows, size, device, generator)
        masks[spec.name] = spec.params(shares, random, size,
                                       **aug.method_kwargs[spec.name])
    return dict(window=window.long(), affine=rotation_shear(angle, shear),
                masks=masks)
