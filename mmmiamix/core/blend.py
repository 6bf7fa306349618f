"""The output stage (docs/design.md, "The mask convention"): images mixed
under a keep mask, labels mixed with the mask's mean.

``x_mixed = keep * x + (1 - keep) * x_partner`` and ``y_mixed = w * y + (1 -
w) * y_partner`` with the base weight ``w = keep.mean()`` per sample, so the
label weights equal the pixel weights. Where ``keep`` is exactly 1 (or 0)
the pixel is taken from the base (or the partner) image alone, so a NaN or
Inf pixel never leaks into the other image.
"""
from typing import Optional, Tuple

import torch


def needs_grad(*tensors: torch.Tensor) -> bool:
    """Whether autograd records through any of ``tensors`` (then the blend
    runs out of place)."""
    return torch.is_grad_enabled() and any(
        t is not None and t.requires_grad for t in tensors)


def gather_partners(images: torch.Tensor, index: torch.Tensor,
                    out: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``images[index]`` as a new tensor in the memory format of ``images``
    (differentiable when ``images`` requires grad); ``out``: an empty
    tensor like ``images`` to write it into."""
    if needs_grad(images):
        return images.index_select(0, index)
    if out is None:
        out = torch.empty_like(images)
    return torch.index_select(images, 0, index, out=out)


def blend_images(inputs: torch.Tensor, partners: torch.Tensor,
                 keep: torch.Tensor, *, inplace: bool = False,
                 sync_free: bool = True, sources=None) -> torch.Tensor:
    """``keep * inputs + (1 - keep) * partners``, exact where ``keep`` is 0
    or 1: there the output is the partner (or the base) pixel alone, NaN
    and Inf included.

    Args:
        inputs: float ``(B, C, H, W)``, the base images.
        partners: ``(B, C, H, W)``, each sample's partner image, of the dtype
            of inputs.
        keep: float ``(B, 1, H, W)`` in [0, 1], weight of the base image.
        inplace: the result may be written into ``partners`` (which the
            caller then gives up).
        sync_free: False allows one value read back to the host (free on the
            CPU): when both batches are finite and below half their dtype's
            largest value, a lerp alone is exact at 0 and 1, and it runs in
            place. Otherwise the pixels at 0 and 1 are selected with
            ``torch.where``, whose CPU kernel is slow (12 ms per select at
            64x3x224x224 on two cores, seven times the lerp).
        sources: the batches whose values bound both ``inputs`` and
            ``partners`` (partners gathered or resampled from them: convex
            combinations), checked instead of the two; default both.
    Returns:
        the mixed images, dtype and memory format of ``partners``.
    """
    weight = keep.to(inputs.dtype)
    grad = needs_grad(inputs, partners, keep)
    if inplace and not sync_free and not grad and _tame(
            *(sources or (inputs, partners))):
        return partners.lerp_(inputs, weight)
    mixed = torch.lerp(partners, inputs, weight)  # p + keep * (x - p)
    if grad:
        mixed = torch.where(weight == 0, partners, mixed)
        return torch.where(weight == 1, inputs, mixed)
    torch.where(weight == 0, partners, mixed, out=mixed)
    return torch.where(weight == 1, inputs, mixed, out=mixed)


def _tame(*images: torch.Tensor) -> bool:
    """Whether every value is finite and below half the dtype's largest
    (then ``x - p`` cannot overflow, and ``lerp(p, x, w)`` is ``p`` at ``w =
    0`` and ``x`` at ``w = 1`` exactly). One host read."""
    bounds = torch.stack([v.float() for t in images
                          for v in torch.aminmax(t)])
    return bool(bounds.abs().max() < torch.finfo(images[0].dtype).max / 2)


def mix_scores(batch_score: torch.Tensor, partner_index: torch.Tensor,
               weight: torch.Tensor) -> torch.Tensor:
    """``w * y + (1 - w) * y[partner_index]``: float32 ``(B, K)`` from scores
    ``(B, K)`` (int or float) and base weights ``w`` (float ``(B,)`` in [0,
    1])."""
    score = batch_score.float()
    return torch.lerp(score.index_select(0, partner_index), score,
                      weight.view(-1, 1).float())


def blend(inputs: torch.Tensor, partners: torch.Tensor, keep: torch.Tensor,
          batch_score: torch.Tensor, partner_index: torch.Tensor, *,
          inplace: bool = False, sync_free: bool = True, sources=None
          ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mix images and labels with the keep mask.

    Args:
        inputs: float ``(B, C, H, W)``, the base images.
        partners: ``(B, C, H, W)`` of the dtype of inputs, each sample's
            partner image.
        keep: float ``(B, 1, H, W)`` in [0, 1], weight of the base image.
        batch_score: ``(B, K)`` one-hot or soft scores, int or float.
        partner_index: long ``(B,)``.
        inplace, sync_free, sources: see :func:`blend_images`.
    Returns:
        ``(mixed, scores, weight)``: mixed images (dtype of inputs), float32
        scores ``(B, K)`` and the base image's label weight, float32
        ``(B,)``, equal to the mean pixel weight actually applied.
    """
    weight = keep.to(inputs.dtype).float().mean(dim=(1, 2, 3))
    mixed = blend_images(inputs, partners, keep, inplace=inplace,
                         sync_free=sync_free, sources=sources)
    return mixed, mix_scores(batch_score, partner_index, weight), weight
