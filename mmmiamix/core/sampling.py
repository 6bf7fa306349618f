"""Random draws of the mixing ratios (Dirichlet and Beta), on one device.

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


def dirichlet_from_log_space(conc_plus_1: torch.Tensor,
                             inv_conc: torch.Tensor, inactive: torch.Tensor,
                             u: torch.Tensor,
                             generator: Generator = None) -> torch.Tensor:
    """Dirichlet rows drawn in log space, exact for any positive
    concentration ``c``: ``log G(c) = log G(c + 1) + log(U) / c``, shares
    ``G_i / sum G`` as a softmax over the active entries.

    Args:
        conc_plus_1: float64 ``(n, d)``, ``c + 1`` (1 where inactive).
        inv_conc: float64 ``(n, d)``, ``1 / c`` (0 where inactive).
        inactive: bool ``(n, d)``, entries whose share is exactly 0 (at
            least one active entry per row).
        u: float64 ``(n, d)`` uniforms in (0, 1] (the boost's ``U``).
    Returns:
        float32 ``(n, d)``, rows summing to 1.
    """
    boosted = torch._standard_gamma(conc_plus_1, generator=generator)
    log_g = torch.addcmul(boosted.log(), u.log(), inv_conc)
    return torch.softmax(log_g.masked_fill_(inactive, float('-inf')),
                         -1).float()


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
    inactive = conc <= 0
    u = 1 - torch.rand(conc.shape, dtype=torch.float64, device=conc.device,
                       generator=generator)  # in (0, 1]
    inv = torch.where(inactive, 0.0, conc.clamp_min(1e-300).reciprocal())
    return dirichlet_from_log_space(conc + 1, inv, inactive, u, generator)


def sample_beta(n: int, alpha: float, device,
                generator: Generator = None) -> torch.Tensor:
    """``n`` draws of Beta(alpha, alpha): float32 ``(n,)`` in [0, 1]."""
    conc = torch.full((n, 2), float(alpha), dtype=torch.float64,
                      device=device)
    return sample_dirichlet(conc, generator)[:, 0]
