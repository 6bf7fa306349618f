"""The class token's attention over the patch grid, read from a vision
transformer's queries and keys (TransMix, Chen et al., CVPR 2022):
the softmax row of the class token, ``softmax(q_cls · Kᵀ · scale)``, averaged
over the heads, on the patch tokens only.

The attention modules of timm's and mmpretrain's ``VisionTransformer`` call
``scaled_dot_product_attention`` and never hand the weights out, but both
compute queries, keys and values with one ``qkv`` Linear whose output is laid
out as ``(B, N, 3, heads, head_dim)``: a forward hook on that Linear sees
everything needed (:func:`split_qkv`), in the same forward pass. Only the
class token's row is computed, ``O(N)`` per head, not the ``N x N`` matrix.
"""
import numbers
from typing import Optional, Tuple

import torch


def _check_tensor(name: str, value, dims: int, shape: str) -> None:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f'{name} must be a torch.Tensor {shape}, got '
                        f'{type(value).__name__}')
    if value.dim() != dims or not value.is_floating_point():
        raise ValueError(f'{name} must be a float tensor {shape}, got '
                         f'{value.dtype} of shape {tuple(value.shape)}')


def _check_int(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f'{name} must be an int >= {low}, got {value!r}')
    if value < low:
        raise ValueError(f'{name} must be an int >= {low}, got {value!r}')
    return int(value)


def split_qkv(qkv: torch.Tensor, num_heads: int
              ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Queries and keys from the output of a ``qkv`` Linear.

    Args:
        qkv: float ``(B, N, 3 * C)``, laid out as ``(B, N, 3, heads,
            C // heads)`` (timm's ``Attention``, mmpretrain's
            ``MultiheadAttention``).
        num_heads: the number of heads, an int >= 1 dividing ``C``.

    Returns:
        ``(q, k)``, each ``(B, heads, N, C // heads)``, views of ``qkv``.
    """
    _check_tensor('qkv', qkv, 3, '(B, N, 3 * C)')
    num_heads = _check_int('num_heads', num_heads, 1)
    b, n, width = qkv.shape
    if width % (3 * num_heads):
        raise ValueError(f'qkv has {width} features, not 3 * num_heads * '
                         f'head_dim for num_heads={num_heads}')
    parts = qkv.reshape(b, n, 3, num_heads, width // (3 * num_heads))
    return parts[:, :, 0].transpose(1, 2), parts[:, :, 1].transpose(1, 2)


def class_token_attention(q: torch.Tensor, k: torch.Tensor, *,
                          num_extra_tokens: int = 1,
                          scale: Optional[float] = None) -> torch.Tensor:
    """The class token's attention over the patch tokens, detached.

    Args:
        q, k: float ``(B, heads, N, d)``, queries and keys of one attention
            layer; token 0 is the class token, tokens ``num_extra_tokens``
            onwards are the patches (row-major over the patch grid).
        num_extra_tokens: tokens before the patches (1: a class token;
            2: DeiT's class and distillation tokens; timm's
            ``num_prefix_tokens``, registers included). An int >= 1.
        scale: the logits' scale; default ``d ** -0.5`` (what
            ``scaled_dot_product_attention`` uses).

    Returns:
        float32 ``(B, N - num_extra_tokens)`` in [0, 1], on the device of
        ``q``: ``softmax(q_0 · kᵀ · scale)`` over all ``N`` tokens, averaged
        over the heads, then restricted to the patches (so a row sums to at
        most 1). No gradient flows through it.
    """
    _check_tensor('q', q, 4, '(B, heads, N, d)')
    _check_tensor('k', k, 4, '(B, heads, N, d)')
    if q.shape != k.shape:
        raise ValueError(f'q and k must have one shape (B, heads, N, d), got'
                         f' {tuple(q.shape)} and {tuple(k.shape)}')
    extra = _check_int('num_extra_tokens', num_extra_tokens, 1)
    if extra >= q.shape[2]:
        raise ValueError(f'num_extra_tokens={extra} leaves no patch token '
                         f'among N={q.shape[2]} tokens')
    if scale is None:
        scale = q.shape[-1] ** -0.5
    # float32 whatever autocast (--amp) runs the forward in
    with torch.no_grad(), torch.autocast(q.device.type, enabled=False):
        query = q[:, :, 0].float() * scale  # (B, heads, d)
        logits = torch.einsum('bhd,bhnd->bhn', query, k.float())
        attn = logits.softmax(dim=-1).mean(dim=1)
    return attn[:, extra:]
