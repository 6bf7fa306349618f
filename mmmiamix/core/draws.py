"""Every random draw of one MiAMix call (stages 1-3), kornia style: a few
large draws whatever the batch size, made before anything is rendered.

A batch of ``B`` samples has ``S = B * k_max`` mask *slots* (slot ``i *
k_max + j`` is layer ``j`` of sample ``i``); a slot beyond its sample's
``k`` asks for a share of 0, so every method renders it empty.
"""
import math
from dataclasses import dataclass, fields
from typing import Dict, Tuple

import torch

from .constants import device_constant
from .geometry import rotation_shear
from .methods import Params, get_method
from .sampling import (
    Generator,
    categorical_from_uniform,
    dirichlet_from_log_space,
    partners_from_uniform,
)

#: Uniforms per slot before the methods' own: method, warp, smooth, window,
#: rotation, shear.
SLOT_UNIFORMS = 6


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
        method: long ``(B, k_max)``, index into ``MiAMix.methods`` (drawn
            for every slot; only active ones matter).
        warp: bool ``(B, k_max)``, the slot's mask is rotated and sheared.
        affine: float32 ``(B, k_max, 2, 2)``, that rotation and shear (where
            ``warp``; the identity elsewhere).
        smooth: bool ``(B, k_max)``, the slot's mask is smoothed.
        window: long ``(B, k_max)``, index into ``MiAMix.windows(size)``
            (where ``smooth``).
        masks: per method name, every slot's mask parameters, tensors of
            ``S`` rows (see :mod:`.methods`).
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

    def to_dict(self) -> dict:
        """The draws as a plain dict (for saving or printing)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@device_constant
def cumulative(weights: Tuple[float, ...], device) -> torch.Tensor:
    """Cumulative sampling weights over their total, float64 ``(K,)``."""
    w = torch.tensor(weights, dtype=torch.float64)
    return (w.cumsum(0) / w.sum()).to(device)


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
def slot_ranges(rotation: Tuple[float, float], shear: Tuple[float, float],
                n_windows: int, device):
    """The per-slot uniforms' ``(low, span)``, float32 ``(6, 1, 1)``:
    method, warp, smooth in [0, 1), window in [0, n_windows), rotation and
    shear in radians."""
    rot = [math.radians(v) for v in rotation]
    shr = [math.radians(v) for v in shear]
    low = torch.tensor([0.0, 0.0, 0.0, 0.0, rot[0], shr[0]], device=device)
    span = torch.tensor([1.0, 1.0, 1.0, n_windows - 1e-4, rot[1] - rot[0],
                         shr[1] - shr[0]], device=device)
    return low.view(-1, 1, 1), span.view(-1, 1, 1)


@device_constant
def augmentable(methods: Tuple[str, ...], device) -> torch.Tensor:
    """Whether each method gets the warp and smoothing stage: bool
    ``(len(methods),)``."""
    return torch.tensor([get_method(m).augmentable for m in methods],
                        device=device)


@device_constant
def identity(device) -> torch.Tensor:
    """The identity warp, float32 ``(1, 2, 2)``."""
    return torch.eye(2, device=device).view(1, 2, 2)


def sample_draws(aug, batch_size: int, size, device,
                 generator: Generator = None) -> MiAMixDraws:
    """Every random draw of one call of ``aug`` (a MiAMix) for a batch of
    ``batch_size`` images of ``size``: one uniform draw per sample, one per
    slot, the Dirichlet's Gamma draw and the methods' own."""
    size, b, k_max = tuple(size), batch_size, aug.k_max
    n_ratio = k_max + 1
    per_sample = torch.rand(b, 3 + n_ratio + aug.view.n_uniform,
                            device=device, generator=generator)
    u_self, u_other, u_k = per_sample[:, :3].unbind(1)
    partner = partners_from_uniform(u_self, u_other, aug.p_self)
    k0 = categorical_from_uniform(
        cumulative(aug.layer_weights, device), u_k)
    plus_1, inv, inactive, layer_active = dirichlet_tables(
        aug.alpha, k_max, device)
    ratios = dirichlet_from_log_space(
        plus_1[k0], inv[k0], inactive[k0],
        1 - per_sample[:, 3:3 + n_ratio].double(), generator)
    active = layer_active[k0]
    per_slot = _slot_draws(aug, b, size, device, active, generator)
    masks = _mask_draws(aug, ratios[:, :k_max].reshape(b * k_max), size,
                        generator)
    return MiAMixDraws(partner=partner, k0=k0, ratios=ratios, active=active,
                       masks=masks,
                       view=aug.view.params(per_sample[:, 3 + n_ratio:]),
                       **per_slot)


def _slot_draws(aug, b, size, device, active, generator) -> dict:
    """Each slot's method, warp and smoothing draws."""
    k_max = aug.k_max
    low, span = slot_ranges(aug.rotation_range, aug.shear_range,
                            len(aug.windows(size)), device)
    u_method, u_warp, u_smooth, window, angle, shear = torch.addcmul(
        low, torch.rand(SLOT_UNIFORMS, b, k_max, device=device,
                        generator=generator), span).unbind(0)
    method = categorical_from_uniform(
        cumulative(aug.method_weights, device), u_method)
    can = augmentable(aug.methods, device)[method] & active
    warp = can & (u_warp < aug.p_aug)
    affine = torch.where(warp.view(b, k_max, 1, 1),
                         rotation_shear(angle, shear), identity(device))
    return dict(method=method, warp=warp, affine=affine,
                smooth=can & (u_smooth < aug.p_smooth),
                window=window.long())


def _mask_draws(aug, share, size, generator) -> Dict[str, Params]:
    """Every slot's parameters for each method: the methods that take
    uniforms share one draw of the widest's count."""
    methods = [get_method(m) for m in aug.methods]
    n_uniform = max(m.n_uniform for m in methods)
    uniforms = torch.rand(share.shape[0], n_uniform, device=share.device,
                          generator=generator) if n_uniform else None
    masks = {}
    for method in methods:
        random = uniforms if method.normal_shape is None else method.draw(
            share.shape[0], size, share.device, generator)
        masks[method.name] = method.params(share, random, size,
                                           **aug.method_kwargs[method.name])
    return masks

