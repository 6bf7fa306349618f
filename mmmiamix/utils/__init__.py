"""Helpers for the tools: torch >= 2.6 checkpoint loading, CPU (gloo) DDP,
atomic and checked checkpoints, random-state capture for exact resume."""
from .checkpoint import setup_torch_load_compat, trusted_globals
from .dist import (check_rank_seed, setup_cpu_distributed,
                   teardown_distributed)
from .random_state import capture_random_state, restore_random_state
from .safe_checkpoint import (DamagedCheckpointError, atomic_write,
                              check_checkpoint, find_resume_checkpoint,
                              install_safe_loader, load_checkpoint_file,
                              verify_checkpoint)

__all__ = [
    'setup_torch_load_compat', 'trusted_globals', 'setup_cpu_distributed',
    'check_rank_seed', 'teardown_distributed', 'capture_random_state',
    'restore_random_state', 'DamagedCheckpointError', 'atomic_write',
    'check_checkpoint', 'find_resume_checkpoint', 'install_safe_loader',
    'load_checkpoint_file', 'verify_checkpoint'
]
