"""Is a checkpoint file intact? Empty, truncated and altered files.

``torch.load`` checks no checksum: a checkpoint with flipped bytes loads
silently and an empty one fails with a bare ``EOFError``. A checkpoint
written by :func:`mmmiamix.resume.saving.atomic_write` has its SHA-256 next
to it in ``<name>.sha256`` (``sha256sum`` format: ``sha256sum -c`` checks
it). :func:`check_checkpoint` says what is wrong with a file, or ``None``:
empty; not a complete zip archive (truncated); SHA-256 different from its
``.sha256`` file; without a ``.sha256`` file, a zip record whose CRC-32 does
not match (torch's zip checkpoints carry CRC-32s that ``torch.load`` never
checks). :func:`verify_checkpoint` raises :class:`DamagedCheckpointError`
naming the file and the problem.

Plain Python; importing this module changes nothing.
"""
import hashlib
import os
import os.path as osp
import re
import zipfile
from typing import Optional

DIGEST_SUFFIX = '.sha256'
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
