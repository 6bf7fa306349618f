"""Load mmengine checkpoints on torch >= 2.6 (``weights_only=True``).

Since torch 2.6 ``torch.load`` defaults to ``weights_only=True``. mmengine
0.10.7 does not pass ``weights_only``, so ``--resume``, ``load_from`` and
``tools/test.py`` fail with ``Weights only load failed ... HistoryBuffer``:
mmengine's checkpoints hold, besides tensors, the message hub's
:class:`~mmengine.logging.HistoryBuffer` objects (numpy arrays and bound
statistics methods such as ``buffer.mean``) and numpy scalars.

The fix chosen here is the narrowest one that makes resuming work: keep
``weights_only=True`` and allow-list exactly what mmengine writes:

* ``mmengine.logging.HistoryBuffer``;
* numpy arrays, dtypes and scalars (``numpy.ndarray``, ``numpy.dtype``,
  the ``numpy.dtypes.*DType`` classes, ``numpy._core.multiarray._reconstruct``
  and ``.scalar``; the ``numpy.core`` names on numpy 1.x);
* ``builtins.getattr``, **replaced by a restricted version** that only
  returns the registered statistics methods of ``HistoryBuffer``
  (a buffer's pickled ``statistics_methods`` holds its functions as
  ``getattr(HistoryBuffer, 'mean')``). Any other ``getattr`` in a checkpoint is
  refused, so the general ``getattr`` gadget is not opened.

Only load checkpoints you trust. The allow-list keeps ``weights_only=True``'s
protection against code execution for everything else. A trusted checkpoint
holding other Python objects (e.g. written by a custom hook) can be loaded by
allow-listing its classes with :func:`torch.serialization.add_safe_globals`,
or, as a last resort and for trusted files only, with torch's own switch
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` in the environment.

The random states that :class:`mmmiamix.resume.hooks.RandomStateHook` adds
to checkpoints are tensors, numbers and strings only: they need nothing here.
Integrity (empty, truncated or altered files) is checked before loading by
:mod:`mmmiamix.resume.integrity` and :mod:`mmmiamix.resume.loading`.

Importing this module changes nothing. :func:`setup_torch_load_compat`
installs the allow-list; ``import mmmiamix`` calls it (with mmpretrain
installed) so that mmpretrain's stock tools load mmengine checkpoints, and
it is the only thing the package installs on import.
"""
import builtins
import importlib

import torch

_DONE = False
# HistoryBuffer's built-in statistics (registered lazily in its __init__)
_BUILTIN_STATISTICS = frozenset({'min', 'max', 'current', 'mean'})


def _history_buffer_cls():
    from mmengine.logging import HistoryBuffer
    return HistoryBuffer


def _restricted_getattr(obj, name, *default):
    """``getattr`` limited to a HistoryBuffer's statistics methods."""
    cls = _history_buffer_cls()
    owner = obj if isinstance(obj, type) else type(obj)
    if issubclass(owner, cls) and isinstance(name, str) and \
            not name.startswith('_') and \
            (name in _BUILTIN_STATISTICS
             or name in getattr(cls, '_statistics_methods', {})):
        return builtins.getattr(obj, name, *default)
    raise RuntimeError(
        f'Refused getattr({type(obj).__name__}, {name!r}) while loading a '
        'checkpoint with weights_only=True (mmmiamix allows only the '
        'statistics methods of mmengine HistoryBuffer).')


def _numpy_globals():
    import numpy as np
    out = [np.ndarray, np.dtype]
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        out += [
            getattr(dtypes, n) for n in dir(dtypes)
            if n.endswith('DType') and isinstance(getattr(dtypes, n), type)
        ]
    for modname in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        try:
            mod = importlib.import_module(modname)
        except ImportError:
            continue
        for fn in ('_reconstruct', 'scalar'):
            if hasattr(mod, fn):
                # name it by the path numpy pickles it under
                out.append((getattr(mod, fn), f'{modname}.{fn}'))
    return out


def trusted_globals():
    """The globals :func:`setup_torch_load_compat` allow-lists."""
    return [_history_buffer_cls(), *(_numpy_globals()),
            (_restricted_getattr, 'builtins.getattr')]


def setup_torch_load_compat():
    """Let mmengine load its own checkpoints on torch >= 2.6.

    Idempotent; a no-op on torch without ``add_safe_globals``. Call it once
    at start-up, before the Runner loads anything (``tools/train.py`` and
    ``tools/test.py`` do). Trusted checkpoints only: see the module
    docstring for what is allowed and why.
    """
    global _DONE
    if _DONE:
        return
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:  # torch < 2.4: weights_only defaults to False anyway
        _DONE = True
        return
    add(trusted_globals())
    _DONE = True
