"""Exact and safe resume.

* :mod:`.allow_list`: the narrow ``torch.load(weights_only=True)``
  allow-list for mmengine's checkpoints (:func:`setup_torch_load_compat`);
* :mod:`.integrity`: is a checkpoint file intact (:func:`check_checkpoint`);
* :mod:`.saving`: atomic, digested writes (:func:`atomic_write`) and the
  mmengine file backend built on them (:func:`register_atomic_backend`);
* :mod:`.loading`: mmengine's local loader with the integrity check
  (:func:`install_safe_loader`);
* :mod:`.choice`: the checkpoint to resume from
  (:func:`newest_intact_checkpoint`);
* :mod:`.random_state`: capture and restore the random generators, reseed
  DataLoader workers per epoch;
* :mod:`.hooks` (needs mmpretrain): ``RandomStateHook`` and
  ``SafeCheckpointHook``, registered in mmpretrain's ``HOOKS`` when that
  module is imported (``import mmmiamix`` does).

Importing this package installs and registers nothing; the functions above
do, when they are called. (``import mmmiamix`` calls
:func:`setup_torch_load_compat` for mmpretrain's stock tools.)
What is and is not guaranteed: ``docs/faults.md``.
"""
from .allow_list import setup_torch_load_compat, trusted_globals
from .choice import find_resume_checkpoint, newest_intact_checkpoint
from .integrity import (
    DamagedCheckpointError,
    check_checkpoint,
    verify_checkpoint,
)
from .loading import install_safe_loader, load_checkpoint_file
from .random_state import capture_random_state, restore_random_state
from .saving import (
    BACKEND_NAME,
    atomic_write,
    register_atomic_backend,
    remove_stale_temporaries,
)

__all__ = [
    'setup_torch_load_compat', 'trusted_globals', 'find_resume_checkpoint',
    'newest_intact_checkpoint', 'DamagedCheckpointError', 'check_checkpoint',
    'verify_checkpoint', 'install_safe_loader', 'load_checkpoint_file',
    'capture_random_state', 'restore_random_state', 'BACKEND_NAME',
    'atomic_write', 'register_atomic_backend', 'remove_stale_temporaries'
]
