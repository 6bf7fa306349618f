"""The core's augments registered in ``mmpretrain.registry.BATCH_AUGMENTS``.

Use in a config as ``data_preprocessor=dict(batch_augments=dict(
augments=dict(type='MiAMix')))``; each is called by mmpretrain as
``mixed, scores = aug(inputs, batch_score)``. The arguments and their
defaults are those of the :mod:`mmmiamix.core` classes.
"""
from mmpretrain.registry import BATCH_AUGMENTS

from .. import core


@BATCH_AUGMENTS.register_module()
class MiAMix(core.MiAMix):
    __doc__ = core.MiAMix.__doc__


@BATCH_AUGMENTS.register_module()
class AGMix(core.AGMix):
    __doc__ = core.AGMix.__doc__


@BATCH_AUGMENTS.register_module()
class GMix(core.GMix):
    __doc__ = core.GMix.__doc__


@BATCH_AUGMENTS.register_module()
class FMix(core.FMix):
    __doc__ = core.FMix.__doc__


@BATCH_AUGMENTS.register_module()
class GridMix(core.GridMix):
    __doc__ = core.GridMix.__doc__


@BATCH_AUGMENTS.register_module()
class SaliencyMix(core.SaliencyMix):
    __doc__ = core.SaliencyMix.__doc__
