"""Helpers for the tools: CPU (gloo) DDP, preflight checks, profiling.

Checkpoint loading, integrity and the random state are in
:mod:`mmmiamix.resume`.
"""
from .dist import check_rank_seed, setup_cpu_distributed, teardown_distributed

__all__ = [
    'setup_cpu_distributed', 'check_rank_seed', 'teardown_distributed'
]
