"""Mixup (Zhang et al., 2018): a constant mask, the share itself."""
from typing import Optional

import torch

from .registry import Family, MaskMethod, Params, Size


def mixup_params(lam: torch.Tensor, u: Optional[torch.Tensor], size: Size
                 ) -> Params:
    """Mixup draws nothing beyond ``lam``."""
    return {'lam': lam.float()}


def render_mixup(params: Params, size: Size,
                 warp: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Constant mask ``lam``: a broadcast view, float32 ``(N, 1, H, W)``."""
    lam = params['lam']
    return lam.view(-1, 1, 1, 1).expand(lam.shape[0], 1, *size)


def _render_constant(value: torch.Tensor, size: Size, warp=None
                     ) -> torch.Tensor:
    """The constant family: ``value`` (float ``(S,)``) as ``(S, 1, 1, 1)``,
    broadcast over the image."""
    return value.view(-1, 1, 1, 1)


CONSTANT = Family('constant', _render_constant, order=3, constant=True)

MIXUP = MaskMethod('mixup', mixup_params, render_mixup, CONSTANT,
                   stack=lambda params, size: params['lam'])
