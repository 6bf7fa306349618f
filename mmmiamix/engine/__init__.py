"""Hooks registered in ``mmpretrain.registry.HOOKS``."""
from .hooks import MixedBatchVisualizationHook
from .mixing_off import MixingOffHook
from .rng_state import RandomStateHook, SafeCheckpointHook

__all__ = [
    'MixedBatchVisualizationHook', 'MixingOffHook', 'RandomStateHook',
    'SafeCheckpointHook'
]
