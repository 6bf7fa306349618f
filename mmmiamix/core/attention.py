"""Attention-weighted labels: TransMix (Chen et al., CVPR 2022) for any keep
mask (docs/design.md, "Attention-weighted labels").

After the forward pass, the base image's label weight becomes

    w = ratio · w_area + (1 − ratio) · w_attn,
    w_attn = Σ_p pool(keep)_p · attn_p / Σ_p attn_p,

with ``pool`` the mean of the keep mask over each patch and ``attn`` the
class token's attention over the patch grid (:mod:`.class_attention`); the
targets are ``w · y_base + (1 − w) · y_partner``, then label smoothing, once.
``ratio = 0.5`` is TransMix's. A uniform keep (mixup) gives ``w_attn =
w_area``; a sample that was not mixed keeps ``w = 1``; a self-mix keeps its
label (its partner's label is its own). The attention is detached: no
gradient flows through the labels. Batched, on the device of the inputs,
no host sync.
"""
import numbers
from typing import Optional, Sequence, Tuple

import torch

from .blend import mix_scores
from .checks import check_prob
from .front import MixRecord, check_label_smoothing

#: TransMix's share of the area weight in the label weight
DEFAULT_RATIO = 0.5


def check_ratio(value) -> float:
    """``ratio``: a number in [0, 1] (1: area weights only, as without
    attention; 0: attention weights only)."""
    return check_prob('ratio', value)


def _check_float(name: str, value, shape: str) -> None:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f'{name} must be a torch.Tensor {shape}, got '
                        f'{type(value).__name__}')
    if not value.is_floating_point():
        raise TypeError(f'{name} must be a float tensor {shape}, got '
                        f'{value.dtype}')


def patch_grid(attn: torch.Tensor, grid: Optional[Sequence[int]] = None
               ) -> Tuple[int, int]:
    """The patch grid ``(h, w)`` of an attention ``(B, h * w)``: ``grid``
    checked against it, or the square grid when ``grid`` is None."""
    patches = attn.shape[1]
    if grid is None:
        side = int(round(patches ** 0.5))
        if side * side != patches:
            raise ValueError(f'attn has {patches} patches, not a square '
                             'grid: pass grid=(h, w)')
        return side, side
    if (not isinstance(grid, Sequence) or len(grid) != 2 or not all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool)
            and v >= 1 for v in grid)):
        raise TypeError(f'grid must be a pair of ints (h, w) >= 1, got '
                        f'{grid!r}')
    h, w = int(grid[0]), int(grid[1])
    if h * w != patches:
        raise ValueError(f'grid={h}x{w} has {h * w} patches but attn has '
                         f'{patches}')
    return h, w


def pool_keep(keep: torch.Tensor, grid: Sequence[int]) -> torch.Tensor:
    """The mean of ``keep`` over each patch.

    Args:
        keep: float ``(B, 1, H, W)`` in [0, 1], the base image's pixel
            weight, or ``(B, 1, 1, 1)`` for a uniform mask (mixup).
        grid: the patch grid ``(h, w)``; ``(H, W)`` must tile it exactly
            (``H = h * patch_h``, ``W = w * patch_w``).

    Returns:
        float32 ``(B, h * w)`` (row-major, as the patch tokens), or ``(B,
        1)``, the uniform keep itself, for a uniform mask.
    """
    _check_float('keep', keep, '(B, 1, H, W)')
    if keep.dim() != 4 or keep.shape[1] != 1:
        raise ValueError('keep must be (B, 1, H, W) or (B, 1, 1, 1), got '
                         f'shape {tuple(keep.shape)}')
    b, _, height, width = keep.shape
    if (height, width) == (1, 1):
        return keep.reshape(b, 1).float()
    h, w = grid
    if height % h or width % w:
        raise ValueError(f'keep of {height}x{width} pixels does not tile '
                         f'the {h}x{w} patch grid exactly: the images must '
                         f'be a whole number of patches ({height}/{h}, '
                         f'{width}/{w})')
    blocks = keep.float().reshape(b, h, height // h, w, width // w)
    return blocks.mean(dim=(2, 4)).reshape(b, h * w)


def attention_share(keep: torch.Tensor, attn: torch.Tensor,
                    grid: Optional[Sequence[int]] = None) -> torch.Tensor:
    """``w_attn``: the share of the class token's attention that falls on
    the base image.

    Args:
        keep: float ``(B, 1, H, W)`` in [0, 1] or ``(B, 1, 1, 1)``, the base
            image's pixel weight (:class:`~.front.MixRecord`).
        attn: float ``(B, h * w)`` >= 0, the class token's attention over
            the patch grid (any positive row sum; detached here).
        grid: ``(h, w)``; default the square grid.

    Returns:
        float32 ``(B,)`` in [0, 1]: ``Σ_p pool(keep)_p · attn_p / Σ_p
        attn_p``.
    """
    _check_float('keep', keep, '(B, 1, H, W)')
    _check_float('attn', attn, '(B, h * w)')
    if attn.dim() != 2 or attn.shape[0] != keep.shape[0]:
        raise ValueError(f'attn must be (B, h * w) for the B={keep.shape[0]}'
                         f' samples of keep, got shape {tuple(attn.shape)}')
    pooled = pool_keep(keep, patch_grid(attn, grid))
    if pooled.shape[1] == 1:  # uniform: any weighted mean of it is itself
        return pooled.view(-1)
    attn = attn.detach().float()
    total = attn.sum(dim=1).clamp_min(torch.finfo(torch.float32).tiny)
    return (pooled * attn).sum(dim=1) / total


def attention_weight(keep: torch.Tensor, area_weight: torch.Tensor,
                     attn: torch.Tensor, *, ratio: float = DEFAULT_RATIO,
                     mixed: Optional[torch.Tensor] = None,
                     grid: Optional[Sequence[int]] = None) -> torch.Tensor:
    """``w = ratio · w_area + (1 − ratio) · w_attn``, the base label weight.

    Args:
        keep, attn, grid: as in :func:`attention_share`.
        area_weight: float ``(B,)`` in [0, 1], the base label weight the
            mixing gave (the keep mask's mean; ``MixRecord.weight``).
        ratio: the area weight's share, in [0, 1]; 0.5 is TransMix's.
        mixed: bool ``(B,)`` or None (all mixed); unmixed samples get 1.

    Returns:
        float32 ``(B,)`` in [0, 1]; exactly ``area_weight`` where ``ratio``
        is 1 or where ``w_attn`` equals it (a uniform keep).
    """
    ratio = check_ratio(ratio)
    _check_float('area_weight', area_weight, '(B,)')
    if area_weight.shape != keep.shape[:1]:
        raise ValueError(f'area_weight must be (B,) for B={keep.shape[0]}, '
                         f'got shape {tuple(area_weight.shape)}')
    share = attention_share(keep, attn, grid)
    # lerp is exact at both ends and when share == area weight
    weight = torch.lerp(share, area_weight.float(), ratio)
    if mixed is not None:
        if mixed.dtype != torch.bool or mixed.shape != weight.shape:
            raise ValueError('mixed must be a bool tensor (B,) or None, got '
                             f'{mixed.dtype} of shape {tuple(mixed.shape)}')
        weight = torch.where(mixed, weight, 1.0)
    return weight


def attention_targets(record: MixRecord, attn: torch.Tensor, *,
                      ratio: float = DEFAULT_RATIO,
                      label_smoothing: float = 0.0,
                      grid: Optional[Sequence[int]] = None) -> torch.Tensor:
    """The targets of a mixed batch relabelled by the model's attention.

    Args:
        record: the :class:`~.front.MixRecord` of the mixing call
            (``MixAugment.mix_recorded``): ``keep`` float ``(B, 1, H, W)``
            or ``(B, 1, 1, 1)``, ``partner`` long ``(B,)``, ``weight``
            float ``(B,)``, ``scores`` float ``(B, K)`` (unsmoothed),
            ``mixed`` bool ``(B,)`` or None.
        attn: float ``(B, h * w)`` >= 0, the class token's attention over
            the patch grid of the mixed images (detached here).
        ratio: the area weight's share in [0, 1]; 0.5 is TransMix's.
        label_smoothing: ``eps`` in [0, 1), applied once: ``(1 − eps) · t +
            eps / K`` (pass the augment's own ``label_smoothing``).
        grid: the patch grid ``(h, w)``; default the square grid.

    Returns:
        float32 ``(B, K)`` on the device of the record, rows summing to 1:
        ``w · y_base + (1 − w) · y_partner`` (:func:`attention_weight`),
        smoothed.
    """
    if not isinstance(record, MixRecord):
        raise TypeError(f'record must be a MixRecord, got '
                        f'{type(record).__name__}')
    eps = check_label_smoothing(label_smoothing)
    weight = attention_weight(record.keep, record.weight, attn, ratio=ratio,
                              mixed=record.mixed, grid=grid)
    targets = mix_scores(record.scores, record.partner, weight)
    if eps == 0:
        return targets
    return targets * (1 - eps) + eps / targets.shape[1]
