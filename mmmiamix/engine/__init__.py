"""Hooks registered in ``mmpretrain.registry.HOOKS``."""
from .hooks import MixedBatchVisualizationHook
from .mixing_off import MixingOffHook  # noqa: F401

__all__ = ['MixedBatchVisualizationHook']
