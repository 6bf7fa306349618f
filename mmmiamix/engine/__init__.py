"""Hooks registered in ``mmpretrain.registry.HOOKS``."""
from .hooks import MixedBatchVisualizationHook

__all__ = ['MixedBatchVisualizationHook']
