"""Hooks registered in ``mmpretrain.registry.HOOKS``.

The two resume hooks (``RandomStateHook``, ``SafeCheckpointHook``) are in
:mod:`mmmiamix.resume.hooks`.
"""
from .hooks import MixedBatchVisualizationHook
from .mixing_off import MixingOffHook

__all__ = ['MixedBatchVisualizationHook', 'MixingOffHook']
