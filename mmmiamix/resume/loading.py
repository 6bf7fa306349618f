"""mmengine's loader for local checkpoints, with the integrity check.

:func:`load_checkpoint_file` checks a file
(:func:`mmmiamix.resume.integrity.verify_checkpoint`), then
``torch.load``\\ s it as mmengine does (torch's default
``weights_only=True`` with the allow-list of
:mod:`mmmiamix.resume.allow_list`); a damaged file raises
:class:`~mmmiamix.resume.integrity.DamagedCheckpointError` naming the file
and what is wrong. :func:`install_safe_loader` makes it mmengine's loader
for local paths (``CheckpointLoader``, prefix ``''``). Nothing is installed
on import: the tools and
:class:`~mmmiamix.resume.hooks.SafeCheckpointHook` call it.

Checkpoints you did not write yourself: see the trust note in
:mod:`mmmiamix.resume.allow_list`.
"""
import os.path as osp
import pickle
import zipfile

import torch

from .integrity import DamagedCheckpointError, verify_checkpoint


def load_checkpoint_file(filename, map_location=None):
    """mmengine's local checkpoint loader, with :func:`verify_checkpoint`.

    Loads with ``torch.load(filename, map_location=...)`` exactly as mmengine
    0.10.7 does (torch's default ``weights_only``); any read error of a file
    that passed the checks is also reported as a
    :class:`DamagedCheckpointError` naming the file. A ``weights_only``
    refusal (``pickle.UnpicklingError``) is passed through unchanged.
    """
    filename = osp.expanduser(str(filename))
    verify_checkpoint(filename)
    try:
        return torch.load(filename, map_location=map_location)
    except pickle.UnpicklingError as e:
        if 'Weights only load failed' in str(e):
            raise  # a refused global, not damage: see allow_list.py
        raise DamagedCheckpointError(
            filename, f'torch.load failed: UnpicklingError: {e}') from e
    except (EOFError, RuntimeError, ValueError, zipfile.BadZipFile) as e:
        raise DamagedCheckpointError(
            filename, f'torch.load failed: {type(e).__name__}: {e}') from e


_LOADER_INSTALLED = False


def install_safe_loader() -> None:
    """Make mmengine load every local checkpoint with
    :func:`load_checkpoint_file` (``runner.load_checkpoint``,
    ``runner.resume``, ``mmengine.runner.load_checkpoint``). Idempotent."""
    global _LOADER_INSTALLED
    if _LOADER_INSTALLED:
        return
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_checkpoint_file, force=True)
    _LOADER_INSTALLED = True
