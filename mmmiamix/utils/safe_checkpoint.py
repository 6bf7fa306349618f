"""Checkpoints that are written atomically and checked when they are read.

mmengine 0.10.7 writes a checkpoint by opening its final name and writing
the bytes: a process killed while saving leaves a truncated file under that
name, and ``last_checkpoint`` may already point at it (CheckpointHook
rewrites ``epoch_N.pth`` after validation when ``save_best`` finds a new
best). ``torch.load`` checks no checksum, so a checkpoint with flipped bytes
loads silently and an empty one fails with a bare ``EOFError``.

This module provides

* :class:`AtomicLocalBackend` (mmengine file backend ``'mmmiamix_atomic'``):
  ``put`` writes to a hidden temporary file in the same directory
  (``.<name>.tmp-<pid>-<random>``), fsyncs it and renames it onto the
  final name (``os.replace``), then writes the SHA-256 of the bytes next to
  it as ``<name>.sha256`` (``sha256sum`` format: ``sha256sum -c`` checks
  it) the same way. A file under the final name is therefore always
  complete. ``remove`` also removes the digest file.
* :func:`check_checkpoint`: what is wrong with a file, or ``None``: empty;
  not a complete zip archive (truncated); SHA-256 different from its
  ``.sha256`` file; without a ``.sha256`` file, a zip record whose CRC-32
  does not match (torch's zip checkpoints carry CRC-32s that ``torch.load``
  never checks).
* :func:`load_checkpoint_file`, registered by :func:`install_safe_loader` as
  mmengine's loader for local paths (``CheckpointLoader``, prefix ``''``):
  checks the file, then ``torch.load``\\ s it as mmengine does (torch's
  default ``weights_only=True`` with the allow-list of
  :mod:`mmmiamix.utils.checkpoint`); a damaged file raises
  :class:`DamagedCheckpointError` naming the file and what is wrong.
* :func:`find_resume_checkpoint`: what ``--resume`` (auto) should load: the
  file ``last_checkpoint`` names if it is intact, else the newest intact
  earlier checkpoint of the same series (``epoch_<n>.pth``), with the list
  of the damaged ones skipped.

Only local paths are handled; other backends (``s3://``, ``http://``) keep
mmengine's behaviour. Checkpoints you did not write yourself: see the trust
note in :mod:`mmmiamix.utils.checkpoint`.
"""
import hashlib
import os
import os.path as osp
import re
import secrets
import zipfile
from typing import List, Optional, Tuple

import torch

DIGEST_SUFFIX = '.sha256'
BACKEND_NAME = 'mmmiamix_atomic'
_TMP_RE = re.compile(r'^\..+\.tmp-\d+-[0-9a-f]+$')
_CHUNK = 1 << 22

# (realpath, size, mtime_ns, digest file mtime_ns) -> problem or None
_CHECKED = {}


class DamagedCheckpointError(RuntimeError):
    """A checkpoint file that is empty, truncated or altered."""

    def __init__(self, filename: str, problem: str):
        self.filename = filename
        self.problem = problem
        super().__init__(f'checkpoint {filename} is damaged: {problem}')


def digest_path(filename: str) -> str:
    """The digest file of ``filename``: ``<filename>.sha256``."""
    return str(filename) + DIGEST_SUFFIX


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


def file_sha256(filename: str) -> str:
    h = hashlib.sha256()
    with open(filename, 'rb') as f:
        for chunk in iter(lambda: f.read(_CHUNK), b''):
            h.update(chunk)
    return h.hexdigest()


def read_digest(filename: str) -> Optional[str]:
    """The SHA-256 recorded in ``<filename>.sha256``; ``None`` if there is no
    such file. Raises :class:`DamagedCheckpointError` if it is unreadable."""
    path = digest_path(filename)
    if not osp.isfile(path):
        return None
    with open(path, 'rb') as f:
        text = f.read(4096).decode('ascii', 'replace')
    m = re.match(r'\s*([0-9a-fA-F]{64})\b', text)
    if m is None:
        raise DamagedCheckpointError(
            filename, f'its digest file {path} does not hold a SHA-256 '
            f'({len(text)} bytes)')
    return m.group(1).lower()


def _check_zip(filename: str, size: int, with_crc: bool) -> Optional[str]:
    with open(filename, 'rb') as f:
        head = f.read(4)
    if head != b'PK\x03\x04':
        # torch's legacy (pre-1.6) pickle format: nothing to check here
        return None
    try:
        with zipfile.ZipFile(filename) as zf:
            if with_crc:
                bad = zf.testzip()
                if bad is not None:
                    return (f'the CRC-32 of its record {bad!r} does not '
                            'match its contents (bytes changed)')
    except zipfile.BadZipFile as e:
        return (f'it is not a complete zip archive ({e}; {size} bytes): '
                'probably truncated, e.g. by a process killed while saving')
    # RuntimeError: zipfile's unsupported compression or encryption
    except (OSError, EOFError, ValueError, RuntimeError) as e:
        return f'its zip structure cannot be read ({e}; {size} bytes)'
    return None


def check_checkpoint(filename: str) -> Optional[str]:
    """Return what is wrong with checkpoint ``filename``, or ``None``.

    Checks, in order: the file is not empty; a zip checkpoint (torch >= 1.6)
    is a complete archive; the SHA-256 of the bytes equals the one in
    ``<filename>.sha256`` if that file exists, otherwise the CRC-32 of every
    zip record matches. Results are cached per (path, size, mtime).
    Raises ``FileNotFoundError`` if ``filename`` is not a file.
    """
    filename = osp.expanduser(str(filename))
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    st = os.stat(filename)
    dpath = digest_path(filename)
    dmtime = os.stat(dpath).st_mtime_ns if osp.isfile(dpath) else None
    key = (osp.realpath(filename), st.st_size, st.st_mtime_ns, dmtime)
    if key in _CHECKED:
        return _CHECKED[key]
    problem = _check_uncached(filename, st.st_size)
    _CHECKED[key] = problem
    return problem


def _check_uncached(filename: str, size: int) -> Optional[str]:
    if size == 0:
        return ('it is empty (0 bytes), e.g. left by a process killed while '
                'saving')
    try:
        want = read_digest(filename)
    except DamagedCheckpointError as e:
        return e.problem
    problem = _check_zip(filename, size, with_crc=want is None)
    if problem is not None:
        return problem
    if want is not None:
        got = file_sha256(filename)
        if got != want:
            return (f'its SHA-256 {got[:16]}... differs from the one in '
                    f'{osp.basename(digest_path(filename))} ({want[:16]}...; '
                    f'{size} bytes): the file was changed or not completely '
                    'written')
    return None


def verify_checkpoint(filename: str) -> str:
    """Raise unless ``filename`` is an intact checkpoint; return the path.

    ``FileNotFoundError`` if it does not exist, :class:`DamagedCheckpointError`
    (naming the file and the problem) if :func:`check_checkpoint` finds one.
    """
    problem = check_checkpoint(filename)
    if problem is not None:
        raise DamagedCheckpointError(filename, problem)
    return filename


def load_checkpoint_file(filename, map_location=None):
    """mmengine's local checkpoint loader, with :func:`verify_checkpoint`.

    Loads with ``torch.load(filename, map_location=...)`` exactly as mmengine
    0.10.7 does (torch's default ``weights_only``); any read error of a file
    that passed the checks is also reported as a
    :class:`DamagedCheckpointError` naming the file. A ``weights_only``
    refusal (``pickle.UnpicklingError``) is passed through unchanged.
    """
    import pickle
    filename = osp.expanduser(str(filename))
    verify_checkpoint(filename)
    try:
        return torch.load(filename, map_location=map_location)
    except pickle.UnpicklingError as e:
        if 'Weights only load failed' in str(e):
            raise  # a refused global, not damage: see utils/checkpoint.py
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


def _register_backend():
    from mmengine.fileio import LocalBackend, register_backend

    class AtomicLocalBackend(LocalBackend):
        """mmengine's local backend whose ``put`` is atomic and digested.

        Select it with ``backend_args=dict(backend='mmmiamix_atomic')`` (e.g.
        on ``CheckpointHook``); :class:`~mmmiamix.engine.SafeCheckpointHook`
        does so for local checkpoint hooks.
        """

        def put(self, obj: bytes, filepath) -> None:
            atomic_write(obj, str(filepath), digest=True)

        def remove(self, filepath) -> None:
            super().remove(filepath)
            dpath = digest_path(str(filepath))
            if osp.isfile(dpath):
                os.remove(dpath)

    register_backend(BACKEND_NAME, AtomicLocalBackend, force=True)
    return AtomicLocalBackend


try:
    AtomicLocalBackend = _register_backend()
except ImportError:  # mmengine missing: the functions above still work
    AtomicLocalBackend = None


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
