"""Which checkpoint to resume from: the newest intact one.

``<work_dir>/last_checkpoint`` (written by mmengine's CheckpointHook) names
the latest checkpoint; it may be missing, damaged, or point at a file a
killed run truncated. :func:`find_resume_checkpoint` returns the one to
resume and the damaged ones it skipped; :func:`newest_intact_checkpoint`
is the single choice resume, the sweep and the demo use. Plain Python;
importing this module changes nothing.
"""
import os
import os.path as osp
import re
from typing import List, Optional, Tuple

from .integrity import check_checkpoint

_SERIES = re.compile(r'^(epoch|iter)_(\d+)\.pth$')


def _series(filename: str) -> Tuple[str, Optional[int]]:
    """``'dir/epoch_12.pth'`` -> (``'epoch_'``, 12)."""
    m = re.match(r'^(.*?)(\d+)\.pth$', osp.basename(filename))
    if m is None:
        return osp.basename(filename), None
    return m.group(1), int(m.group(2))


def find_resume_checkpoint(
        work_dir: str) -> Tuple[Optional[str], List[Tuple[str, str]]]:
    """Choose the checkpoint ``--resume`` (auto) loads from ``work_dir``.

    ``<work_dir>/last_checkpoint`` (written by mmengine's CheckpointHook)
    names the latest checkpoint. If that file is intact it is returned. If
    it is missing or damaged, the newest intact checkpoint of the same
    series in the same folder (``epoch_<n>.pth`` with a smaller ``n``; or
    ``iter_<n>.pth``) is returned instead. Returns ``(path or None,
    [(damaged path, problem), ...])``; ``(None, [])`` when there is no
    ``last_checkpoint`` (nothing to resume: mmengine then trains from the
    start).
    """
    save_file = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(save_file):
        return None, []
    with open(save_file) as f:
        last = f.read().strip()
    damaged = []
    if not last:
        damaged.append((save_file, 'it is empty'))
        folder, prefix, step = work_dir, 'epoch_', None
    else:
        if not osp.isabs(last) and not osp.exists(last):
            last = osp.join(work_dir, last)
        folder = osp.dirname(last) or work_dir
        prefix, step = _series(last)
        if osp.isfile(last):
            problem = check_checkpoint(last)
            if problem is None:
                return last, []
            damaged.append((last, problem))
        else:
            damaged.append((last, 'it does not exist'))
    pattern = re.compile(r'^' + re.escape(prefix) + r'(\d+)\.pth$')
    candidates = []
    if osp.isdir(folder):
        for name in os.listdir(folder):
            m = pattern.match(name)
            if m and (step is None or int(m.group(1)) < step):
                candidates.append((int(m.group(1)), osp.join(folder, name)))
    for _, path in sorted(candidates, reverse=True):
        problem = check_checkpoint(path)
        if problem is None:
            return path, damaged
        damaged.append((path, problem))
    return None, damaged


def newest_intact_checkpoint(work_dir: str) -> Optional[str]:
    """The newest checkpoint of ``work_dir`` that passes the integrity check.

    The one ``<work_dir>/last_checkpoint`` names when it is intact, else the
    newest intact one of the same series; without that file, the newest
    intact ``epoch_<n>.pth`` or ``iter_<n>.pth`` in ``work_dir``. ``None``
    when there is none. Resume, the sweep and the demo all choose their
    checkpoint here.
    """
    if osp.isfile(osp.join(work_dir, 'last_checkpoint')):
        return find_resume_checkpoint(work_dir)[0]
    found = []
    for name in os.listdir(work_dir) if osp.isdir(work_dir) else ():
        m = _SERIES.match(name)
        if m:
            found.append((int(m.group(2)), osp.join(work_dir, name)))
    for _, path in sorted(found, reverse=True):
        if check_checkpoint(path) is None:
            return path
    return None
