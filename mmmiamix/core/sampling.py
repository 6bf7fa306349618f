"""Random draws of the mixing ratios, categories and partners, on one device.

Every function takes an optional ``torch.Generator`` on the target device;
``None`` uses torch's default generator of that device, so
``torch.manual_seed`` (and mmengine's per-rank seeding) applies. Nothing
here reads a tensor back to the host.

Gamma variates are drawn in log space, ``log G(a) = log G(a + 1) + log(U) /
a`` (Marsaglia & Tsang's boost), so Dirichlet and Beta shares stay exact for
any ``alpha > 0``: for ``alpha`` of 1e-4 a plain Gamma draw underflows to 0
and the shares no longer sum to 1.
"""
from typing import Optional

import torch

Generator = Optional[torch.Generator]


def uniform(n: int, low: float, high: float, device,
            generator: Generator = None) -> torch.Tensor:
    """``n`` draws of U(low, high): float32 ``(n,)``."""
    u = torch.rand(n, device=device, generator=generator)
    return low + (high - low) * u


def log_gamma_variates(concentration: torch.Tensor, u: torch.Tensor,
                       generator: Generator = None) -> torch.Tensor:
    """``log G`` for ``G ~ Gamma(concentration, 1)``, elementwise.

    Args:
        concentration: float64 ``(n, d)``, values > 0.
        u: uniforms in (0, 1] of the same shape (the boost's ``U``).
    Returns:
        float64 ``(n, d)``, finite.
    """
    boosted = torch._standard_gamma(concentration + 1, generator=generator)
    return boosted.log() + u.log() / concentration


def dirichlet_from_log_gamma(log_g: torch.Tensor,
                             active: torch.Tensor) -> torch.Tensor:
    """Shares ``G_i / sum G`` from ``log G`` (a softmax over the active
    entries); inactive entries get exactly 0. Float32, rows sum to 1."""
    log_g = log_g.masked_fill(~active, float('-inf'))
    return torch.softmax(log_g, dim=-1).float()


def sample_dirichlet(concentration: torch.Tensor,
                     generator: Generator = None) -> torch.Tensor:
    """Rows of Dirichlet draws, exact for any positive concentration.

    Args:
        concentration: float ``(n, d)``, values >= 0 with at least one
            positive entry per row; a zero entry gives a zero share (an
            inactive component).
    Returns:
        float32 ``(n, d)``, rows summing to 1.
    """
    conc = concentration.double()
    active = conc > 0
    u = 1 - torch.rand(conc.shape, dtype=torch.float64, device=conc.device,
                       generator=generator)  # in (0, 1]
    log_g = log_gamma_variates(conc.clamp_min(1e-300), u, generator)
    return dirichlet_from_log_gamma(log_g, active)


def sample_beta(n: int, alpha: float, device,
                generator: Generator = None) -> torch.Tensor:
    """``n`` draws of Beta(alpha, alpha): float32 ``(n,)`` in [0, 1]."""
    conc = torch.full((n, 2), float(alpha), dtype=torch.float64,
                      device=device)
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
    layer = torch.arange(k_max + 1, device=k.device)
    conc = torch.where(layer == k_max, k[:, None].double(),
                       (layer < k[:, None]).double()) * alpha
    return sample_dirichlet(conc, generator)


def categorical_from_uniform(cumulative: torch.Tensor,
                             u: torch.Tensor) -> torch.Tensor:
    """Indices drawn with probabilities ``diff(cumulative)``.

    Args:
        cumulative: float ``(K,)``, the cumulative sums of the weights
            divided by their total (last entry 1).
        u: uniforms in [0, 1), any shape.
    Returns:
        long tensor of the shape of ``u``, values in [0, K).
    """
    index = torch.searchsorted(cumulative, u.contiguous(), right=True)
    return index.clamp_(max=cumulative.shape[0] - 1)


def partners_from_uniform(u_self: torch.Tensor, u_other: torch.Tensor,
                          p_self: float) -> torch.Tensor:
    """Partner of each sample (paper §3.2.1) from two uniform draws.

    With probability ``p_self`` the partner of ``i`` is ``i`` itself;
    otherwise it is drawn uniformly from the other ``n - 1`` samples (with
    ``n == 1`` there is no other, and the sample pairs with itself).

    Args:
        u_self, u_other: float ``(n,)`` uniforms in [0, 1).
    Returns:
        long ``(n,)`` partner indices.
    """
    n = u_self.shape[0]
    index = _arange(n, u_self.device)
    offset = (u_other * (n - 1)).long().clamp_(max=max(n - 2, 0))
    return torch.where(u_self < p_self, index, (offset + index + 1) % n)


_ARANGE = {}


def _arange(n: int, device) -> torch.Tensor:
    """``arange(n)`` on ``device``, cached (made once per size)."""
    key = (n, torch.device(device))
    value = _ARANGE.get(key)
    if value is None:
        if len(_ARANGE) >= 256:  # emptied before an insert, never mid-call
            _ARANGE.clear()
        value = _ARANGE[key] = torch.arange(n, device=device)
    return value
