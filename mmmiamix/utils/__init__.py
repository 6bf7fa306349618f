"""Helpers for the tools: torch >= 2.6 checkpoint loading, CPU (gloo) DDP."""
from .checkpoint import setup_torch_load_compat, trusted_globals
from .dist import (check_rank_seed, setup_cpu_distributed,
                   teardown_distributed)

__all__ = [
    'setup_torch_load_compat', 'trusted_globals', 'setup_cpu_distributed',
    'check_rank_seed', 'teardown_distributed'
]
