"""Checks the tools run before their first long step.

Building a Runner builds the model and the datasets, and the first error
about a missing file may come after minutes (or, for a checkpoint, after a
whole training). These functions check the inputs a tool will need up front
and raise one error listing every problem found:

* :func:`check_config_keys`: config keys a tool needs (``train_dataloader``,
  ``test_evaluator``, ...) are present;
* :func:`check_dataset_paths`: the ``data_root`` / ``ann_file`` of every
  dataset in a dataloader exist (unless the dataset downloads them, i.e.
  has a ``download`` argument that is true);
* :func:`check_checkpoint_arg`: a checkpoint given on the command line or
  as ``load_from`` exists and is intact
  (:func:`mmmiamix.resume.check_checkpoint`);
* :func:`check_writable`: an output folder can be created and written.
"""
import inspect
import os
import os.path as osp
import tempfile
from typing import Iterable, List, Optional

from ..resume.integrity import check_checkpoint


class PreflightError(ValueError):
    """One or more inputs of a tool are missing or unusable."""

    def __init__(self, tool: str, problems: List[str]):
        self.problems = list(problems)
        lines = '\n'.join(f'  - {p}' for p in self.problems)
        super().__init__(
            f'{tool}: {len(self.problems)} problem(s) found before '
            f'starting:\n{lines}')


def _get(cfg, key):
    node = cfg
    for part in key.split('.'):
        if node is None or not hasattr(node, 'get'):
            return None
        node = node.get(part, None)
    return node


def check_config_keys(cfg, keys: Iterable[str]) -> List[str]:
    """Problems for the dotted ``keys`` missing (or None) in ``cfg``."""
    return [f'the config has no `{k}`' for k in keys if _get(cfg, k) is None]


def _downloads(dataset_cfg) -> bool:
    """True if the dataset type has a ``download`` argument that is on."""
    if 'download' in dataset_cfg:
        return bool(dataset_cfg['download'])
    dtype = dataset_cfg.get('type')
    cls = dtype if isinstance(dtype, type) else None
    if cls is None and isinstance(dtype, str):
        try:
            from mmpretrain.registry import DATASETS
            cls = DATASETS.get(dtype)
        except Exception:  # unknown type: the Runner will report it
            cls = None
    if cls is None:
        return False
    try:
        param = inspect.signature(cls.__init__).parameters.get('download')
    except (TypeError, ValueError):
        return False
    return param is not None and param.default is True


def _datasets(dataset_cfg, where):
    if not hasattr(dataset_cfg, 'get'):
        return
    yield where, dataset_cfg
    inner = dataset_cfg.get('dataset')
    if inner is not None:
        yield from _datasets(inner, f'{where}.dataset')
    for i, d in enumerate(dataset_cfg.get('datasets') or []):
        yield from _datasets(d, f'{where}.datasets[{i}]')


def check_dataset_paths(cfg, loader_keys: Iterable[str]) -> List[str]:
    """Problems for dataset files that do not exist, per dataloader key."""
    problems = []
    for key in loader_keys:
        loader = _get(cfg, key)
        if loader is None or not hasattr(loader, 'get'):
            continue
        for where, ds in _datasets(loader.get('dataset'), f'{key}.dataset'):
            root = ds.get('data_root')
            if isinstance(root, str) and root and '://' not in root and \
                    not _downloads(ds):
                if not osp.isdir(root):
                    problems.append(
                        f'{where}.data_root {root!r} is not a folder')
                    continue
            prefix = ds.get('data_prefix')
            prefixes = prefix.values() if hasattr(prefix, 'values') else [
                prefix]
            for pre in prefixes:
                if isinstance(pre, str) and pre and '://' not in pre and \
                        not _downloads(ds):
                    path = pre if osp.isabs(pre) or not root else osp.join(
                        root, pre)
                    if not osp.exists(path):
                        problems.append(
                            f'{where}.data_prefix {path!r} not found')
            ann = ds.get('ann_file')
            if isinstance(ann, str) and ann and '://' not in ann and \
                    not _downloads(ds):
                path = ann if osp.isabs(ann) or not root else osp.join(
                    root, ann)
                if not osp.exists(path):
                    problems.append(f'{where}.ann_file {path!r} not found')
    return problems


def check_checkpoint_arg(path: Optional[str], what: str) -> List[str]:
    """Problems with the local checkpoint ``path`` (``what`` names it)."""
    if not path or not isinstance(path, str) or '://' in path:
        return []  # nothing given, or a URL mmengine downloads
    path = osp.expanduser(path)
    if not osp.isfile(path):
        return [f'{what} {path!r} does not exist']
    problem = check_checkpoint(path)
    if problem is not None:
        return [f'{what} {path!r} is damaged: {problem}']
    return []


def check_writable(folder: Optional[str], what: str) -> List[str]:
    """Problems creating ``folder`` or writing a file in it."""
    if not folder or '://' in str(folder):
        return []
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix='.write-test-'):
            pass
    except OSError as e:
        return [f'{what} {folder!r} is not writable: {e}']
    return []


def raise_if(tool: str, problems: List[str]) -> None:
    """Raise :class:`PreflightError` if ``problems`` is not empty."""
    if problems:
        raise PreflightError(tool, problems)
