"""Write checkpoints atomically, with their SHA-256 next to them.

mmengine 0.10.7 writes a checkpoint by opening its final name and writing
the bytes: a process killed while saving leaves a truncated file under that
name, and ``last_checkpoint`` may already point at it (CheckpointHook
rewrites ``epoch_N.pth`` after validation when ``save_best`` finds a new
best).

* :func:`atomic_write` writes to a hidden temporary file in the same folder
  (``.<name>.tmp-<pid>-<random>``), fsyncs it and renames it onto the final
  name (``os.replace``), then writes the SHA-256 of the bytes to
  ``<name>.sha256`` the same way: a file under the final name is always
  complete.
* :func:`register_atomic_backend` registers ``AtomicLocalBackend`` as
  the mmengine file backend ``'mmmiamix_atomic'``, whose ``put`` is
  :func:`atomic_write`. Nothing is registered on import:
  :class:`~mmmiamix.resume.hooks.SafeCheckpointHook` calls it when it is
  built.
* :func:`remove_stale_temporaries` removes what a killed save left behind.

Only local paths are handled; other backends (``s3://``, ``http://``) keep
mmengine's behaviour.
"""
import hashlib
import os
import os.path as osp
import re
import secrets
from typing import List

from .integrity import digest_path

BACKEND_NAME = 'mmmiamix_atomic'
_TMP_RE = re.compile(r'^\..+\.tmp-\d+-[0-9a-f]+$')
_BACKEND = None


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # e.g. Windows: directories cannot be opened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_replace(data: bytes, filename: str) -> None:
    """Write ``data`` to a temporary file next to ``filename``, fsync it and
    rename it onto ``filename`` (atomic on POSIX and Windows)."""
    folder = osp.dirname(osp.abspath(filename))
    tmp = osp.join(
        folder,
        f'.{osp.basename(filename)}.tmp-{os.getpid()}-{secrets.token_hex(4)}')
    try:
        with open(tmp, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filename)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def atomic_write(data: bytes, filename: str, digest: bool = True) -> str:
    """Write ``data`` to ``filename`` atomically; return its SHA-256 (hex).

    The data go to a temporary file in the same folder, which is fsynced and
    renamed onto ``filename``; with ``digest=True`` the SHA-256 then goes to
    ``<filename>.sha256`` (``sha256sum`` format) the same way. A process
    killed at any point leaves under ``filename`` either the previous
    complete file or the new complete file, never a part of one. (Killed in
    the instant between the two renames, the new file is left with the
    previous digest, or with none: it is then reported as damaged, or
    checked by its zip CRC-32s, never loaded unchecked.)
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f'data must be bytes, got {type(data).__name__}')
    filename = str(filename)
    folder = osp.dirname(osp.abspath(filename))
    os.makedirs(folder, exist_ok=True)
    hexdigest = hashlib.sha256(data).hexdigest()
    _write_replace(data, filename)
    if digest:
        line = f'{hexdigest}  {osp.basename(filename)}\n'.encode()
        _write_replace(line, digest_path(filename))
    elif osp.isfile(digest_path(filename)):
        os.remove(digest_path(filename))  # it would not match any more
    _fsync_dir(folder)
    return hexdigest


def remove_stale_temporaries(folder: str) -> List[str]:
    """Remove the temporary files a killed :func:`atomic_write` left in
    ``folder``; return their paths."""
    removed = []
    if not osp.isdir(folder):
        return removed
    for name in os.listdir(folder):
        if _TMP_RE.match(name):
            path = osp.join(folder, name)
            try:
                os.remove(path)
                removed.append(path)
            except OSError:
                pass
    return removed


def register_atomic_backend():
    """Register :class:`AtomicLocalBackend` as mmengine's file backend
    ``'mmmiamix_atomic'`` and return the class. Idempotent; needs mmengine.

    Select it with ``backend_args=dict(backend='mmmiamix_atomic')`` (e.g. on
    ``CheckpointHook``); :class:`~mmmiamix.resume.hooks.SafeCheckpointHook`
    calls this when it is built and selects the backend for the runner's
    local checkpoint hooks.
    """
    global _BACKEND
    if _BACKEND is not None:
        return _BACKEND
    from mmengine.fileio import LocalBackend, register_backend

    class AtomicLocalBackend(LocalBackend):
        """mmengine's local backend whose ``put`` is atomic and digested."""

        def put(self, obj: bytes, filepath) -> None:
            atomic_write(obj, str(filepath), digest=True)

        def remove(self, filepath) -> None:
            super().remove(filepath)
            dpath = digest_path(str(filepath))
            if osp.isfile(dpath):
                os.remove(dpath)

    register_backend(BACKEND_NAME, AtomicLocalBackend, force=True)
    _BACKEND = AtomicLocalBackend
    return AtomicLocalBackend
