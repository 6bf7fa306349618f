"""What the suite shares: expensive fixtures, built once and ahead of time.

Most of the suite's time goes to subprocesses of the tools (trainings,
sweeps, tests of checkpoints), and most of those run one at a time on one
thread while the other core waits. A fixture whose build is a function of a
fresh temporary folder is therefore *prefetched*: its module names it in

    PREFETCH = {'fixture name': build}   # build(tmp, prefetched) -> value

and the fixture returns ``prefetched(build)``. After collection, the builds
of the fixtures that selected tests use are queued in the order of their
first use, and :data:`WORKERS` worker threads run them, each one build
after the other, while pytest runs the tests before them.
``prefetched(build)`` returns the build's value: at once when it is done,
after waiting when a worker runs it, or by running it here and now when no
worker has started it. A build runs once per session; an exception in it is
raised in every fixture that asks for it. A build may ask for another
(``prefetched(other)``).

Builds run subprocesses with their output captured (nothing of a build
reaches a test's captured output) and must not depend on what tests do.
``MMMIAMIX_TESTS_PREFETCH=0`` turns the workers off: every build then runs
when its fixture is first needed, as pytest's own fixtures do.

The tests in this process compute with one intra-op thread
(:data:`THREADS`): beside the builds' processes, two OpenMP threads stall
in spin-waits (a small training took ten times as long).
"""
import os
import sys
import threading

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tinydata  # noqa: E402

#: builds at once (each mostly one single-threaded subprocess at a time):
#: with pytest's own thread, enough to keep two cores busy
WORKERS = 2
#: torch's intra-op threads in this process
THREADS = int(os.environ.get('MMMIAMIX_TESTS_THREADS', '1'))
#: prefetched fixtures of conftest itself (used by several modules)
PREFETCH = {'quick_one_epoch': tinydata.build_quick_one_epoch}


class _Build:

    def __init__(self, fn):
        self.fn = fn
        self.started = False
        self.finished = threading.Event()
        self.value = self.error = None


class Prefetcher:
    """The builds of the session and the worker that runs them ahead."""

    def __init__(self):
        self._builds = {}
        self._queue = []
        self._lock = threading.Lock()
        self._stop = False
        self._threads = []
        self.factory = None

    def queue(self, fn):
        with self._lock:
            if fn not in self._builds:
                self._builds[fn] = _Build(fn)
                self._queue.append(fn)

    def start(self, factory):
        self.factory = factory
        if os.environ.get('MMMIAMIX_TESTS_PREFETCH', '1') == '0':
            return
        for i in range(WORKERS):
            thread = threading.Thread(target=self._work, daemon=True,
                                      name=f'prefetch-{i}')
            thread.start()
            self._threads.append(thread)

    def stop(self):
        """No further builds; wait for those running (their subprocesses
        have timeouts)."""
        with self._lock:
            self._stop = True
        for thread in self._threads:
            thread.join()

    def _claim(self, fn):
        """The build of ``fn`` if the caller is to run it (not started)."""
        with self._lock:
            build = self._builds.setdefault(fn, _Build(fn))
            if build.started:
                return None
            build.started = True
            return build

    def _run(self, build):
        try:
            tmp = self.factory.mktemp(build.fn.__name__.strip('_'))
            build.value = build.fn(tmp, self)
        except BaseException as e:  # re-raised where it is needed
            build.error = e
        finally:
            build.finished.set()

    def _work(self):
        while True:
            with self._lock:
                if self._stop or not self._queue:
                    return
                fn = self._queue.pop(0)
            build = self._claim(fn)
            if build is not None:
                self._run(build)

    def __call__(self, fn):
        build = self._claim(fn)
        if build is not None:
            self._run(build)
        build = self._builds[fn]
        build.finished.wait()
        if build.error is not None:
            raise build.error
        return build.value


PREFETCHER = Prefetcher()


def pytest_collection_finish(session):
    here = sys.modules[__name__]
    for item in session.items:
        for module in (here, getattr(item, 'module', None)):
            for name, fn in getattr(module, 'PREFETCH', {}).items():
                if name in getattr(item, 'fixturenames', ()):
                    PREFETCHER.queue(fn)


def pytest_sessionfinish(session):
    PREFETCHER.stop()


@pytest.fixture(scope='session', autouse=True)
def _prefetch_worker(tmp_path_factory):
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    PREFETCHER.start(tmp_path_factory)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope='session')
def prefetched():
    """``prefetched(build)``: the value of a (prefetched) build."""
    return PREFETCHER


@pytest.fixture(scope='session')
def quick_one_epoch(prefetched):
    """The quick start (``configs/quickstart/miamix_resnet18_digits.py``)
    trained one epoch on a slice of the digits by the project's
    tools/train.py (see :func:`tinydata.build_quick_one_epoch`)."""
    return prefetched(tinydata.build_quick_one_epoch)
