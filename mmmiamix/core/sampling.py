"""Random draws of the mixing ratios and partners, all on one device.

Every function takes an optional ``torch.Generator`` on the target device;
``None`` uses torch's default generator of that device, so
``torch.manual_seed`` (and mmengine's per-rank seeding) applies.
"""
from typing import Optional, Sequence

import torch

Generator = Optional[torch.Generator]


def uniform(n: int, low: float, high: float, device,
            generator: Generator = None) -> torch.Tensor:
    """``n`` draws of U(low, high): float32 ``(n,)``."""
    u = torch.rand(n, device=device, generator=generator)
    return low + (high - low) * u


def sample_dirichlet(concentration: torch.Tensor,
                     generator: Generator = None) -> torch.Tensor:
    """Rows of Dirichlet draws through normalised Gamma variates.

    Args:
        concentration: float ``(n, d)``, values >= 0; a zero entry gives a
            zero share (an inactive component).
    Returns:
        float32 ``(n, d)``, rows summing to 1.
    """
    conc = concentration.double()
    active = conc > 0
    gamma = torch._standard_gamma(conc.clamp_min(1e-6), generator=generator)
    gamma = gamma * active
    total = gamma.sum(-1, keepdim=True)
    # All active Gamma variates underflowing to 0 (tiny alpha) has
    # probability ~0; fall back to equal shares rather than 0/0.
    fallback = active / active.sum(-1, keepdim=True).clamp_min(1)
    shares = torch.where(total > 0, gamma / total.clamp_min(1e-300), fallback)
    return shares.float()


def sample_beta(n: int, alpha: float, device,
                generator: Generator = None) -> torch.Tensor:
    """``n`` draws of Beta(alpha, alpha): float32 ``(n,)`` in [0, 1]."""
    conc = torch.full((n, 2), float(alpha), device=device)
    return sample_dirichlet(conc, generator)[:, 0]


def sample_layer_ratios(k: torch.Tensor, k_max: int, alpha: float,
                        generator: Generator = None) -> torch.Tensor:
    """MiAMix ratios (paper §3.2.2): ``Dir(alpha, ..., alpha, k * alpha)``.

    Args:
        k: long ``(n,)``, number of layers of each sample, in [1, k_max].
    Returns:
        float32 ``(n, k_max + 1)``: columns ``0..k-1`` hold the partner
        shares asked of each mask, columns ``k..k_max-1`` are 0 (inactive
        layers) and the last column is ``lambda_{k+1}``, the base share.
    """
    layer = torch.arange(k_max, device=k.device)
    conc = torch.cat([
        (layer < k[:, None]).double() * alpha,
        k[:, None].double() * alpha,
    ], dim=1)
    return sample_dirichlet(conc, generator)


def sample_categorical(weights: torch.Tensor, n: int,
                       generator: Generator = None) -> torch.Tensor:
    """``n`` i.i.d. indices drawn with probabilities ``weights / sum``.

    Args:
        weights: float ``(K,)`` >= 0 with a positive sum, on the device.
    Returns:
        long ``(n,)`` in [0, K).
    """
    return torch.multinomial(weights, n, replacement=True,
                             generator=generator)


def sample_partners(n: int, p_self: float, device,
                    generator: Generator = None) -> torch.Tensor:
    """Partner of each sample (paper §3.2.1).

    With probability ``p_self`` the partner of ``i`` is ``i`` itself;
    otherwise it is drawn uniformly from the other ``n - 1`` samples (with
    ``n == 1`` there is no other, and the sample pairs with itself).

    Returns:
        long ``(n,)`` partner indices.
    """
    index = torch.arange(n, device=device)
    is_self = torch.rand(n, device=device, generator=generator) < p_self
    offset = 1 + (torch.rand(n, device=device, generator=generator) *
                  (n - 1)).long().clamp_max(max(n - 2, 0))
    return torch.where(is_self, index, (index + offset) % n)
