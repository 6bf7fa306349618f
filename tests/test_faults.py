"""Fault suite: kills, damaged checkpoints, a killed rank, exact resume.

One module-scoped sequence of tiny CPU trainings (tools/train.py as a
subprocess, 24 PNG images, MiAMix, 2 epochs of 6 iterations, validation
after each epoch):

1. ``ref``: 2 epochs uninterrupted.
2. ``kill``: the same run, SIGKILLed (by itself, before its 9th optimizer
   step) in the middle of epoch 2.
3. ``save``: ``--resume`` (from epoch 1), SIGKILLed while writing
   ``epoch_2.pth`` (its temporary file truncated to half, then SIGKILL).
4. a truncated ``epoch_2.pth`` is put under the final name and
   ``last_checkpoint`` pointed at it (what a kill while saving left with
   mmengine's plain writer).
5. ``resume``: ``--resume`` again: it warns about the damaged epoch_2.pth,
   resumes from epoch_1.pth and must end with the weights of ``ref``,
   bit for bit, having logged the same losses.

The kills come from a small prelude (:data:`PRELUDE`) that runs the tool
with an optimizer step pre-hook or a patched ``os.fsync``; nothing in the
project knows about it. Other tests load damaged copies in-process and run
a 2-process gloo training whose rank 1 kills itself.
"""
import glob
import hashlib
import io
import json
import os
import os.path as osp
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import tinydata  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TRAIN = osp.join(REPO, 'tools', 'train.py')
TEST = osp.join(REPO, 'tools', 'test.py')

PRELUDE = r'''
"""Run a tool (argv[1]) and SIGKILL this process at a chosen point."""
import os, runpy, signal, sys
kill_step = int(os.environ.get('FAULT_KILL_AT_STEP', '0'))
kill_save = os.environ.get('FAULT_KILL_SAVING', '')
if kill_step:  # before the kill_step-th optimizer step (1-based)
    from torch.optim.optimizer import register_optimizer_step_pre_hook
    count = [0]

    def _pre_step(opt, args, kwargs):
        count[0] += 1
        if count[0] == kill_step:
            os.kill(os.getpid(), signal.SIGKILL)
    register_optimizer_step_pre_hook(_pre_step)
if kill_save:  # while the temporary file of checkpoint `kill_save` is synced
    _fsync = os.fsync

    def _fsync_then_die(fd):
        try:
            name = os.path.basename(os.readlink(f'/proc/self/fd/{fd}'))
        except OSError:
            name = ''
        if name.startswith('.' + kill_save + '.tmp-'):
            os.ftruncate(fd, os.fstat(fd).st_size // 2)  # half written
            os.kill(os.getpid(), signal.SIGKILL)
        return _fsync(fd)
    os.fsync = _fsync_then_die
tool = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(tool, run_name='__main__')
'''


def _env(**extra):
    env = dict(os.environ)
    env['PYTHONPATH'] = REPO + os.pathsep + env.get('PYTHONPATH', '')
    env.setdefault('OMP_NUM_THREADS', '1')
    env.update({k: str(v) for k, v in extra.items()})
    return env


def _popen(cmd, cwd, log, **env):
    return subprocess.Popen(
        cmd, cwd=cwd, env=_env(**env), stdout=open(log, 'w'),
        stderr=subprocess.STDOUT, start_new_session=True)


def _kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _start(cmd, cwd, **env):
    log = osp.join(str(cwd), f'log_{time.monotonic_ns()}.txt')
    return _popen(cmd, cwd, log, **env), log


def _finish(started, timeout=240):
    """Wait for a :func:`_start`-ed command; return (returncode, output).
    Kills its process group on timeout and afterwards (leftover workers)."""
    proc, log = started
    try:
        proc.wait(timeout=timeout)
    finally:
        _kill_group(proc)
    with open(log) as f:
        return proc.returncode, f.read()


def _run(cmd, cwd, timeout=240, **env):
    return _finish(_start(cmd, cwd, **env), timeout)


def _losses(work):
    """{step: loss} from every run's scalars.json in ``work``."""
    out = {}
    for path in sorted(glob.glob(osp.join(work, '*', 'vis_data',
                                          'scalars.json'))):
        with open(path) as f:
            for line in f:
                rec = json.loads(line)
                if 'loss' in rec:
                    out[rec['step']] = rec['loss']
    return out


def _load(path):
    from mmmiamix.resume import setup_torch_load_compat
    setup_torch_load_compat()
    return torch.load(path, map_location='cpu', weights_only=True)


def _make_tiny(tmp):
    tinydata.make_png_dataset(str(tmp / 'data'))
    cfg = tinydata.write_config(
        tmp / 'cfg.py', tmp / 'data', max_epochs=2,
        augment=dict(type='MiAMix'), plugin=True)
    prelude = tmp / 'prelude.py'
    prelude.write_text(PRELUDE)
    return dict(tmp=tmp, cfg=cfg, prelude=str(prelude))


def _bare_checkpoint(ref, tmp):
    """ref's epoch_1.pth without its random states."""
    src = _load(osp.join(ref, 'epoch_1.pth'))
    del src['random_states']
    bare = str(tmp / 'epoch_1_bare.pth')
    torch.save(src, bare)
    return bare


def _build_runs(tmp, prefetched):
    """The sequence of the module docstring (and, beside its step 3, the
    resume from ref's epoch_1.pth without random states): the tiny setup
    and what each step left."""
    tiny = _make_tiny(tmp)
    cfg, py = tiny['cfg'], sys.executable
    ref, work = str(tmp / 'ref'), str(tmp / 'work')
    res = {}
    # 1. and 2. (killed mid-epoch 2; 6 iterations per epoch) side by side
    started = _start([py, TRAIN, cfg, '--work-dir', ref], tmp)
    res['kill'] = _run([py, tiny['prelude'], TRAIN, cfg, '--work-dir', work],
                       tmp, FAULT_KILL_AT_STEP=9)
    res['ref'] = _finish(started)
    res['after_kill'] = sorted(os.listdir(work))
    # 3. resumed, killed while writing epoch_2.pth; beside it, ref resumed
    # from its epoch_1.pth stripped of the random states
    bare = _start([py, TRAIN, cfg, '--work-dir', str(tmp / 'bare'),
                   '--resume', _bare_checkpoint(ref, tmp), '--no-validate'],
                  tmp)
    res['save'] = _run([py, tiny['prelude'], TRAIN, cfg, '--work-dir', work,
                        '--resume'], tmp, FAULT_KILL_SAVING='epoch_2.pth')
    res['bare'] = _finish(bare)
    res['after_save'] = sorted(os.listdir(work))
    with open(osp.join(work, 'last_checkpoint')) as f:
        res['last_after_save'] = f.read().strip()
    # 4. the landed writer's outcome: a truncated file under the final name
    with open(osp.join(ref, 'epoch_2.pth'), 'rb') as f:
        data = f.read()
    with open(osp.join(work, 'epoch_2.pth'), 'wb') as f:
        f.write(data[:len(data) // 3])
    with open(osp.join(work, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(work, 'epoch_2.pth'))
    # 5. auto-resume falls back to epoch_1.pth and finishes
    res['resume'] = _run([py, TRAIN, cfg, '--work-dir', work, '--resume'],
                         tmp)
    res.update(ref_dir=ref, work=work, bare_dir=str(tmp / 'bare'))
    return dict(tiny=tiny, runs=res)


PREFETCH = {'runs': _build_runs, 'tiny': _build_runs}


@pytest.fixture(scope='module')
def tiny(prefetched):
    return prefetched(_build_runs)['tiny']


@pytest.fixture(scope='module')
def runs(prefetched):
    return prefetched(_build_runs)['runs']


def test_killed_mid_epoch_keeps_last_checkpoint(runs):
    rc, out = runs['kill']
    assert rc == -signal.SIGKILL, out[-3000:]
    assert 'Epoch(train) [2][2/6]' in out and 'Epoch(train) [2][3/6]' \
        not in out
    files = runs['after_kill']
    assert 'epoch_1.pth' in files and 'epoch_1.pth.sha256' in files
    assert 'epoch_2.pth' not in files


def test_killed_while_saving_leaves_no_partial_checkpoint(runs):
    rc, out = runs['save']
    assert rc == -signal.SIGKILL, out[-3000:]
    assert 'Epoch(train) [2][6/6]' in out  # killed after the epoch, saving
    files = runs['after_save']
    assert 'epoch_2.pth' not in files and 'epoch_2.pth.sha256' not in files
    tmps = [f for f in files if f.startswith('.epoch_2.pth.tmp-')]
    assert len(tmps) == 1, files
    assert runs['last_after_save'].endswith('epoch_1.pth')


def test_auto_resume_falls_back_to_intact_checkpoint(runs):
    rc, out = runs['resume']
    assert rc == 0, out[-4000:]
    work = runs['work']
    damaged = osp.join(work, 'epoch_2.pth')
    assert re.search(r'skipping damaged checkpoint ' + re.escape(damaged) +
                     r': it is not a complete zip archive', out), out[-4000:]
    assert f"resuming from {osp.join(work, 'epoch_1.pth')} instead" in out
    assert 'resumed epoch: 1, iter: 6' in out
    assert 'removed the temporary file' in out
    assert not [f for f in os.listdir(work) if '.tmp-' in f]
    # the new epoch_2.pth is intact and digested
    from mmmiamix.resume import check_checkpoint
    assert check_checkpoint(damaged) is None
    with open(damaged + '.sha256') as f:
        want = f.read().split()[0]
    with open(damaged, 'rb') as f:
        assert hashlib.sha256(f.read()).hexdigest() == want


def test_resume_is_exact(runs):
    """2 epochs == 1 epoch, kills, --resume: same losses, same weights."""
    rc, out = runs['ref']
    assert rc == 0, out[-4000:]
    ref, res = _losses(runs['ref_dir']), _losses(runs['work'])
    assert sorted(ref) == list(range(1, 13))
    assert sorted(res) == list(range(1, 13))
    # the logged loss is a running mean over the last 10 iterations (and
    # the message hub is resumed), so steps 7..12 depend on epoch 2's draws
    assert [res[s] for s in range(1, 13)] == [ref[s] for s in range(1, 13)]
    a = _load(osp.join(runs['ref_dir'], 'epoch_2.pth'))
    b = _load(osp.join(runs['work'], 'epoch_2.pth'))
    assert a['state_dict'].keys() == b['state_dict'].keys()
    for k in a['state_dict']:
        assert torch.equal(a['state_dict'][k], b['state_dict'][k]), k
    for k, v in a['optimizer']['state'].items():
        assert torch.equal(v['momentum_buffer'],
                           b['optimizer']['state'][k]['momentum_buffer'])
    # what was saved: one state per rank, at the end of epoch 2
    rs = b['random_states']
    assert (rs['epoch'], rs['iter'], rs['world_size']) == (2, 12, 1)
    assert rs['ranks'][0]['torch_cpu'].dtype == torch.uint8
    assert torch.equal(rs['ranks'][0]['torch_cpu'],
                       a['random_states']['ranks'][0]['torch_cpu'])
    assert 'restoring the random state of rank 0 (epoch 1, iter 6)' in \
        runs['resume'][1]


def test_resume_without_restoring_differs(runs):
    """The equality above is not trivial: resumed from the same epoch_1.pth
    without its random states, epoch 2 draws other masks."""
    rc, out = runs['bare']
    assert rc == 0, out[-3000:]
    assert 'holds no random states' in out
    ref, got = _losses(runs['ref_dir']), _losses(runs['bare_dir'])
    assert [got[s] for s in range(7, 13)] != [ref[s] for s in range(7, 13)]


# ------------------------------------------------------ damaged checkpoints
@pytest.fixture
def safe_loader():
    """mmengine's loader for local files replaced by the checked one, then
    restored (the registry is global to this pytest process)."""
    from mmengine.runner.checkpoint import CheckpointLoader

    from mmmiamix.resume import loading
    saved = dict(CheckpointLoader._schemes)
    loading._LOADER_INSTALLED = False
    loading.install_safe_loader()
    yield
    CheckpointLoader._schemes.clear()
    CheckpointLoader._schemes.update(saved)
    loading._LOADER_INSTALLED = False


def _damaged_copies(src, folder):
    with open(src, 'rb') as f:
        data = bytearray(f.read())
    out = {}

    def put(name, payload, digest):
        path = osp.join(folder, name)
        with open(path, 'wb') as f:
            f.write(payload)
        if digest:
            shutil.copy(src + '.sha256', path + '.sha256')
        out[name] = path

    put('truncated.pth', bytes(data[:len(data) // 2]), True)
    flipped = bytearray(data)
    for i in range(len(data) // 3, len(data) // 3 + 64):  # inside a tensor
        flipped[i] ^= 0xFF
    put('flipped.pth', bytes(flipped), True)
    put('flipped_nodigest.pth', bytes(flipped), False)
    put('empty.pth', b'', True)
    put('intact.pth', bytes(data), True)
    return out


def test_damaged_checkpoints_raise_naming_file(runs, tmp_path, safe_loader):
    from mmengine.runner import load_checkpoint
    from mmengine.runner.checkpoint import _load_checkpoint

    from mmmiamix.resume import DamagedCheckpointError
    paths = _damaged_copies(osp.join(runs['ref_dir'], 'epoch_1.pth'),
                            str(tmp_path))
    expected = {
        'truncated.pth': 'not a complete zip archive',
        'flipped.pth': 'SHA-256',
        'flipped_nodigest.pth': 'CRC-32',
        'empty.pth': 'empty (0 bytes)',
    }
    for name, phrase in expected.items():
        with pytest.raises(DamagedCheckpointError) as err:
            _load_checkpoint(paths[name], map_location='cpu')
        msg = str(err.value)
        assert paths[name] in msg and phrase in msg, msg
    # (mmengine's own loader reads the flipped copies without complaint)
    ck = _load_checkpoint(paths['intact.pth'], map_location='cpu')
    assert ck['meta']['epoch'] == 1
    from mmengine.config import Config
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(osp.join(runs['ref_dir'], 'cfg.py'))
    model = MODELS.build(cfg.model)
    load_checkpoint(model, paths['intact.pth'], map_location='cpu')
    with pytest.raises(DamagedCheckpointError, match='flipped.pth'):
        load_checkpoint(model, paths['flipped.pth'], map_location='cpu')


def _build_damaged_to_test_tool(tmp, prefetched):
    """tools/test.py given the flipped copy of ref's epoch_1.pth: the
    copies, exit status and output."""
    runs = prefetched(_build_runs)['runs']
    paths = _damaged_copies(osp.join(runs['ref_dir'], 'epoch_1.pth'),
                            str(tmp))
    cfg = osp.join(runs['ref_dir'], 'cfg.py')
    rc, out = _run([sys.executable, TEST, cfg, paths['flipped.pth'],
                    '--work-dir', str(tmp / 't')], tmp)
    return paths, rc, out


@pytest.fixture(scope='module')
def damaged_to_test_tool(prefetched):
    return prefetched(_build_damaged_to_test_tool)


def test_damaged_checkpoint_given_to_tools(runs, damaged_to_test_tool,
                                           tmp_path, safe_loader,
                                           monkeypatch):
    """tools/test.py and tools/train.py --resume PATH refuse a damaged file
    before building anything, naming it and the problem."""
    paths, rc, out = damaged_to_test_tool
    assert rc == 2, out[-3000:]
    assert f"checkpoint {paths['flipped.pth']!r} is damaged: its SHA-256" \
        in out, out[-3000:]
    assert 'Traceback' not in out and 'Load checkpoint from' not in out

    # tools/train.py in this process (its start-up is the slow part)
    import importlib.util

    from mmmiamix.utils.preflight import PreflightError
    cfg = osp.join(runs['ref_dir'], 'cfg.py')
    spec = importlib.util.spec_from_file_location('train_tool', TRAIN)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    monkeypatch.setenv('LOCAL_RANK', '0')
    with pytest.raises(PreflightError) as err:
        tool.main([cfg, '--work-dir', str(tmp_path / 'r'), '--resume',
                   paths['empty.pth']])
    assert f"--resume checkpoint {paths['empty.pth']!r} is damaged: it is " \
        'empty (0 bytes)' in str(err.value)
    assert not osp.exists(tmp_path / 'r' / 'last_checkpoint')


def test_newest_intact_checkpoint_without_last_checkpoint(tmp_path):
    """Without ``last_checkpoint``: the newest intact ``epoch_<n>.pth``
    (damaged newer ones and other files skipped); ``None`` when none is
    intact or the folder does not exist."""
    from mmmiamix.resume import atomic_write, newest_intact_checkpoint
    for n in (1, 2, 10):
        buf = io.BytesIO()
        torch.save({'n': n}, buf)
        atomic_write(buf.getvalue(), str(tmp_path / f'epoch_{n}.pth'))
    (tmp_path / 'epoch_11.pth').write_bytes(b'')  # newest, but empty
    (tmp_path / 'best_accuracy_epoch_12.pth').write_bytes(b'x')
    assert newest_intact_checkpoint(str(tmp_path)) == \
        str(tmp_path / 'epoch_10.pth')  # 10 > 2: by number, not by name
    (tmp_path / 'epoch_10.pth').write_bytes(b'PK\x03\x04 truncated')
    assert newest_intact_checkpoint(str(tmp_path)) == \
        str(tmp_path / 'epoch_2.pth')
    for n in (1, 2):
        os.remove(tmp_path / f'epoch_{n}.pth')
    assert newest_intact_checkpoint(str(tmp_path)) is None
    assert newest_intact_checkpoint(str(tmp_path / 'missing')) is None


def _build_import_check(tmp, prefetched):
    code = (
        'import torch, mmmiamix\n'
        'from mmengine.fileio.backends.registry_utils import backends\n'
        'from mmengine.runner.checkpoint import CheckpointLoader\n'
        'from mmengine.logging import HistoryBuffer\n'
        'from mmpretrain.registry import HOOKS\n'
        'from mmmiamix.resume import load_checkpoint_file\n'
        'safe = torch.serialization.get_safe_globals()\n'
        'assert HistoryBuffer in safe, safe\n'
        'assert "mmmiamix_atomic" not in backends\n'
        'assert CheckpointLoader._schemes[""] is not load_checkpoint_file\n'
        'HOOKS.build(dict(type="SafeCheckpointHook"))\n'
        'assert "mmmiamix_atomic" in backends\n'
        'assert CheckpointLoader._schemes[""] is load_checkpoint_file\n')
    env = dict(os.environ, PYTHONPATH=REPO)
    return subprocess.run([sys.executable, '-c', code], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope='module')
def import_check(prefetched):
    return prefetched(_build_import_check)


def test_import_installs_only_the_allow_list(import_check):
    """``import mmmiamix`` installs the torch.load allow-list and registers
    the hooks; the checked loader and the atomic file backend come only when
    a SafeCheckpointHook is built."""
    assert import_check.returncode == 0, import_check.stderr[-3000:]


# --------------------------------------------------------- random states
def test_random_state_roundtrip_weights_only(tmp_path):
    from mmmiamix.resume import capture_random_state, restore_random_state
    torch.manual_seed(1)
    np.random.seed(2)
    random.seed(3)
    np.random.normal()  # a cached Gaussian in numpy's state
    state = capture_random_state()
    first = (torch.rand(5), np.random.rand(5), np.random.normal(),
             [random.random() for _ in range(5)], random.gauss(0, 1))
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=True)  # no allow-list needed
    restore_random_state(loaded)
    again = (torch.rand(5), np.random.rand(5), np.random.normal(),
             [random.random() for _ in range(5)], random.gauss(0, 1))
    assert torch.equal(first[0], again[0])
    assert np.array_equal(first[1], again[1]) and first[2] == again[2]
    assert first[3] == again[3] and first[4] == again[4]
    with pytest.raises(ValueError, match='capture_random_state'):
        restore_random_state({'torch_cpu': state['torch_cpu']})


class _RandomDataset(torch.utils.data.Dataset):
    """Items drawn by the pipeline from the worker's global generators."""

    def __init__(self):
        self.pipeline = lambda i: (i, np.random.rand(), random.random(),
                                   float(torch.rand(())))

    def __len__(self):
        return 8

    def __getitem__(self, i):
        return self.pipeline(i)


def test_workers_reseeded_per_epoch():
    """Persistent workers continue their streams across epochs; with the
    wrapped pipeline, epoch e draws the same in a restarted loader (as after
    --resume) as in one that ran since epoch 0, and epochs differ."""
    from mmmiamix.resume.random_state import (
        EpochSeededPipeline,
        wrap_pipelines,
    )

    def loader(ds):
        return torch.utils.data.DataLoader(
            ds, batch_size=2, num_workers=2, persistent_workers=True,
            collate_fn=lambda b: b)

    def epoch_items(dl):
        return sorted(x for batch in dl for x in batch)

    epoch = torch.zeros(1, dtype=torch.int64).share_memory_()
    ds = _RandomDataset()
    assert wrap_pipelines(ds, seed=5, rank=0, epoch=epoch) == 1
    assert isinstance(ds.pipeline, EpochSeededPipeline)
    dl = loader(ds)
    runs = []
    for e in range(3):
        epoch.fill_(e)
        runs.append(epoch_items(dl))
    assert runs[0] != runs[1] != runs[2]
    fresh = _RandomDataset()
    wrap_pipelines(fresh, seed=5, rank=0, epoch=epoch)
    epoch.fill_(2)
    assert epoch_items(loader(fresh)) == runs[2]
    # without the wrapper a restarted loader repeats its first epoch
    plain = loader(_RandomDataset())
    torch.manual_seed(0)
    first = [epoch_items(plain) for _ in range(2)]
    torch.manual_seed(0)
    assert epoch_items(loader(_RandomDataset())) == first[0] != first[1]


# --------------------------------------------------------- a killed rank
def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _build_killed_rank(tmp, prefetched):
    """2 gloo ranks of a training (the tiny setup in its own folder); rank
    1 SIGKILLs itself before its 2nd optimizer step. Rank 1's exit status,
    rank 0's, how long rank 0 went on after rank 1 died, rank 0's log."""
    tiny = _make_tiny(tmp)
    env = dict(MASTER_ADDR='127.0.0.1', MASTER_PORT=_free_port(),
               WORLD_SIZE=2)
    procs, waited = [], None
    try:
        for rank in (0, 1):
            extra = dict(env, RANK=rank, LOCAL_RANK=rank)
            if rank == 1:
                extra['FAULT_KILL_AT_STEP'] = 2
            procs.append(_popen(
                [sys.executable, tiny['prelude'], TRAIN, tiny['cfg'],
                 '--work-dir', str(tmp / 'dist'), '--launcher', 'pytorch'],
                tmp, str(tmp / f'rank{rank}.log'), **extra))
        procs[1].wait(timeout=180)
        died = time.monotonic()
        if procs[1].returncode == -signal.SIGKILL:
            try:
                procs[0].wait(timeout=60)  # the bound
                waited = time.monotonic() - died
            except subprocess.TimeoutExpired:
                pass
    finally:
        for p in procs:
            _kill_group(p)
    return dict(rc1=procs[1].returncode, rc0=procs[0].returncode,
                waited=waited, log0=(tmp / 'rank0.log').read_text(),
                log1=(tmp / 'rank1.log').read_text())


@pytest.fixture(scope='module')
def killed_rank(prefetched):
    return prefetched(_build_killed_rank)


PREFETCH.update(damaged_to_test_tool=_build_damaged_to_test_tool,
                import_check=_build_import_check,
                killed_rank=_build_killed_rank)


def test_killed_rank_stops_the_survivor(killed_rank):
    """2 gloo ranks; rank 1 SIGKILLs itself before its 2nd optimizer step:
    rank 0 must exit with an error, well before its timeout."""
    res = killed_rank
    assert res['rc1'] == -signal.SIGKILL, res['log1'][-3000:]
    out = res['log0']
    assert res['waited'] is not None and res['waited'] < 60, out[-3000:]
    assert res['rc0'] not in (0, None), out[-3000:]
    assert re.search(r'Connection (reset|closed) by peer', out), out[-3000:]
