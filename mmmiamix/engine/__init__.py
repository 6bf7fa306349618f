"""Hooks registered in ``mmpretrain.registry.HOOKS``."""
from .hooks import MixedBatchVisualizationHook
from .rng_state import RandomStateHook, SafeCheckpointHook

__all__ = [
    'MixedBatchVisualizationHook', 'RandomStateHook', 'SafeCheckpointHook'
]
