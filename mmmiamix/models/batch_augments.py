"""The core's augments registered in ``mmpretrain.registry.BATCH_AUGMENTS``.

Use in a config as ``data_preprocessor=dict(batch_augments=dict(
augments=dict(type='MiAMix')))``; each is called by mmpretrain as
``mixed, scores = aug(inputs, batch_score)``. The arguments and their
defaults are those of the :mod:`mmmiamix.core` classes, and the mask
methods those of the core's registry: a method registered by a module that
the config's ``custom_imports`` loads is usable in ``MiAMix(methods=...)``
and as ``dict(type='MaskMix', method=...)``.

mmpretrain registers a ``ResizeMix`` of its own (one box and one scale per
batch); the core's per-sample :class:`~mmmiamix.core.ResizeMix` is
registered beside it as ``PerSampleResizeMix``, so a config chooses either
by its ``type``.
"""
from mmpretrain.registry import BATCH_AUGMENTS

from .. import core

#: The core's augments, registered under their own names.
AUGMENTS = (core.MiAMix, core.MaskMix, core.AGMix, core.GMix, core.FMix,
            core.GridMix, core.SaliencyMix, core.SmoothMix)

#: The name of the core's ResizeMix in ``BATCH_AUGMENTS`` (mmpretrain's
#: keeps ``ResizeMix``).
RESIZEMIX_NAME = 'PerSampleResizeMix'


def _registered(cls, name=None):
    """A subclass of the core ``cls`` registered as ``name`` (default: its
    class name, which the subclass takes)."""
    sub = type(name or cls.__name__, (cls, ), {'__doc__': cls.__doc__,
                                               '__module__': __name__})
    return BATCH_AUGMENTS.register_module(module=sub)


MiAMix, MaskMix, AGMix, GMix, FMix, GridMix, SaliencyMix, SmoothMix = (
    _registered(cls) for cls in AUGMENTS)
PerSampleResizeMix = _registered(core.ResizeMix, RESIZEMIX_NAME)
