"""The class token's attention of an mmpretrain vision transformer, read in
the forward pass that trains it (no second forward).

mmpretrain's ``MultiheadAttention`` calls ``scaled_dot_product_attention``
and never exposes its weights; :func:`reading_class_attention` hooks the
last layer's ``attn.qkv`` Linear for the queries and keys (and the patch
embedding for the patch grid) for the duration of one forward, and computes
only the class token's row (:func:`mmmiamix.core.class_token_attention`).
Backbones: ``VisionTransformer`` (and subclasses keeping its layers, such as
DeiT's ``DistilledVisionTransformer``, whose class token comes first and
distillation token second) with ``with_cls_token=True``.
"""
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Sequence

import torch
from mmpretrain.models.utils.attention import MultiheadAttention
from torch import nn

from ..core import class_token_attention, split_qkv


def check_backbone(backbone: nn.Module, who: str) -> None:
    """Raise a clear error unless ``backbone`` has a class token and
    mmpretrain's ``MultiheadAttention`` (with its ``qkv`` Linear) in its
    last layer."""
    name = type(backbone).__name__
    if getattr(backbone, 'cls_token', None) is None:
        how = ' (built with with_cls_token=False)' if \
            hasattr(backbone, 'with_cls_token') else ''
        raise ValueError(f'{who} weighs labels by the class token\'s '
                         f'attention, but the backbone {name} has no class '
                         f'token{how}; use a VisionTransformer (or DeiT\'s '
                         'DistilledVisionTransformer) with '
                         'with_cls_token=True')
    layers = getattr(backbone, 'layers', None)
    attn = getattr(layers[-1], 'attn', None) if layers else None
    if not isinstance(attn, MultiheadAttention) or \
            not isinstance(attn.qkv, nn.Linear) or \
            not hasattr(backbone, 'patch_embed'):
        raise TypeError(f'{who} reads the class token\'s attention from '
                        "mmpretrain's MultiheadAttention in the last of "
                        f'backbone.layers; the backbone {name} has '
                        f'{type(attn).__name__} there')


@contextmanager
def reading_class_attention(backbone: nn.Module):
    """Within the block, each forward of ``backbone`` leaves in the yielded
    namespace ``attn`` (float32 ``(B, h * w)``, detached: the class token's
    attention over the patches of the last layer, mean over heads) and
    ``grid`` (``(h, w)``, the patch grid)."""
    seen = SimpleNamespace(attn=None, grid=None)
    attn_module = backbone.layers[-1].attn
    extra = backbone.num_extra_tokens

    def on_qkv(_module, _args, output):
        q, k = split_qkv(output, attn_module.num_heads)
        seen.attn = class_token_attention(q, k, num_extra_tokens=extra)

    def on_patches(_module, _args, output):
        seen.grid = tuple(int(v) for v in output[1])

    handles = [attn_module.qkv.register_forward_hook(on_qkv),
               backbone.patch_embed.register_forward_hook(on_patches)]
    try:
        yield seen
    finally:
        for handle in handles:
            handle.remove()


def check_tiling(inputs: torch.Tensor, grid: Sequence[int],
                 backbone: nn.Module) -> None:
    """Raise a ValueError naming the sizes unless the images are exactly
    the patch grid (no padding by the patch embedding), so that each
    patch token sees the pixels its patch of the keep mask covers."""
    stride = backbone.patch_embed.projection.stride
    height, width = inputs.shape[-2:]
    h, w = grid
    if (height, width) != (h * stride[0], w * stride[1]):
        raise ValueError(
            f'images of {height}x{width} pixels do not tile the {h}x{w} '
            f'patch grid of {stride[0]}x{stride[1]} patches exactly (the '
            'patch embedding pads them): attention-weighted labels need '
            'image sides that are multiples of the patch size')
