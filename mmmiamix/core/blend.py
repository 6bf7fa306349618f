"""The output stage (DESIGN §1): images mixed under a keep mask, labels
mixed with the mask's mean.

``x_mixed = keep * x + (1 - keep) * x_partner`` and ``y_mixed = w * y + (1 -
w) * y_partner`` with the base weight ``w = keep.mean()`` per sample, so the
label weights equal the pixel weights. Where ``keep`` is exactly 1 (or 0)
the pixel is taken from the base (or the partner) image alone, so a NaN or
Inf pixel never leaks into the other image.
"""
from typing import Tuple

import torch


def needs_grad(*tensors: torch.Tensor) -> bool:
    """Whether autograd records through any of ``tensors`` (then the blend
    runs out of place)."""
    return torch.is_grad_enabled() and any(
        t is not None and t.requires_grad for t in tensors)


def gather_partners(images: torch.Tensor,
                    index: torch.Tensor) -> torch.Tensor:
    """``images[index]`` as a new tensor in the memory format of ``images``
    (differentiable when ``images`` requires grad)."""
    if needs_grad(images):
        return images.index_select(0, index)
    out = torch.empty_like(images)
    return torch.index_select(images, 0, index, out=out)


def blend_images(inputs: torch.Tensor, partners: torch.Tensor,
                 keep: torch.Tensor) -> torch.Tensor:
    """``keep * inputs + (1 - keep) * partners``, selecting where ``keep`` is
    exactly 0 or 1.

    Args:
        inputs: float ``(B, C, H, W)``, the base images.
        partners: ``(B, C, H, W)``, each sample's partner image, of the dtype
            of inputs.
        keep: float ``(B, 1, H, W)`` in [0, 1], weight of the base image.
    Returns:
        the mixed images, dtype and memory format of ``partners``.
    """
    weight = keep.to(inputs.dtype)
    mixed = torch.lerp(partners, inputs, weight)  # p + keep * (x - p)
    if needs_grad(inputs, partners, keep):
        mixed = torch.where(weight == 0, partners, mixed)
        return torch.where(weight == 1, inputs, mixed)
    torch.where(weight == 0, partners, mixed, out=mixed)
    return torch.where(weight == 1, inputs, mixed, out=mixed)


def mix_scores(batch_score: torch.Tensor, partner_index: torch.Tensor,
               weight: torch.Tensor) -> torch.Tensor:
    """``w * y + (1 - w) * y[partner_index]``: float32 ``(B, K)`` from scores
    ``(B, K)`` (int or float) and base weights ``w`` (float ``(B,)`` in [0,
    1])."""
    score = batch_score.float()
    return torch.lerp(score.index_select(0, partner_index), score,
                      weight.view(-1, 1).float())


def blend(inputs: torch.Tensor, partners: torch.Tensor, keep: torch.Tensor,
          batch_score: torch.Tensor, partner_index: torch.Tensor
          ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mix images and labels with the keep mask.

    Args:
        inputs: float ``(B, C, H, W)``, the base images.
        partners: ``(B, C, H, W)`` of the dtype of inputs, each sample's
            partner image.
        keep: float ``(B, 1, H, W)`` in [0, 1], weight of the base image.
        batch_score: ``(B, K)`` one-hot or soft scores, int or float.
        partner_index: long ``(B,)``.
    Returns:
        ``(mixed, scores, weight)``: mixed images (dtype of inputs), float32
        scores ``(B, K)`` and the base image's label weight, float32
        ``(B,)``, equal to the mean pixel weight actually applied.
    """
    weight = keep.to(inputs.dtype).float().mean(dim=(1, 2, 3))
    mixed = blend_images(inputs, partners, keep)
    return mixed, mix_scores(batch_score, partner_index, weight), weight
