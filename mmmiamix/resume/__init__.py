"""Exact and safe resume: checkpoint integrity, the choice of the checkpoint
to continue from, and the random state."""
import os
import os.path as osp
import re
from typing import Optional

from ..utils.safe_checkpoint import check_checkpoint, find_resume_checkpoint

_SERIES = re.compile(r'^(epoch|iter)_(\d+)\.pth$')


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


__all__ = ['newest_intact_checkpoint']
