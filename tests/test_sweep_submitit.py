"""tools/sweep.py through submitit: 2 methods x 2 seeds of the digits quick
start (a few epochs on a slice of the data) as local jobs, killed mid-way
and called again, give the results table of an uninterrupted sweep; a
failed run is reported with its log while the others finish; the Slurm path
runs through stand-in ``sbatch``/``srun``/``squeue``/``sacct`` scripts that
record what they are given and run the array's tasks one after another."""
import json
import os
import os.path as osp
import signal
import stat
import subprocess
import sys
import time

import pytest

from mmmiamix.experiments import launch, summary

pytest.importorskip('submitit')

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TOOLS = osp.join(REPO, 'tools')
QUICKSTART = osp.join(REPO, 'configs', 'quickstart',
                      'vanilla_resnet18_digits.py')
METHODS = ['vanilla', 'Mixup']
SEEDS = ['0', '1']


def _base_config(path, epochs=3):
    path.write_text(f'''_base_ = [{QUICKSTART!r}]
max_epochs = {epochs}
train_dataloader = dict(batch_size=16, dataset=dict(indices=48))
val_dataloader = dict(dataset=dict(indices=40))
test_dataloader = val_dataloader
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True)]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=1),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=1,
                    save_best=None))
custom_hooks = []
''')
    return str(path)


def _env(**extra):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env['PYTHONPATH'] = REPO + os.pathsep + env.get('PYTHONPATH', '')
    env[launch.POLL_ENV] = '0.5'  # the stand-in Slurm answers at once
    env.update(extra)
    return env


def _cmd(cfg, work, *extra):
    return [sys.executable, osp.join(TOOLS, 'sweep.py'), cfg, '--methods',
            *METHODS, '--seeds', *SEEDS, '--jobs', '2', '--work-dir',
            str(work), *extra]


def _sweep(cfg, work, *extra, ok=True, **env):
    proc = subprocess.run(_cmd(cfg, work, *extra), env=_env(**env),
                          capture_output=True, text=True, timeout=600)
    if ok:
        assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    return proc


def _table(work):
    """The results table without the timing columns (iteration time and
    training cost differ from one machine state to the next)."""
    groups = summary.collect_groups([str(work)], notes=[])
    rows = summary.summarize(groups, summary.choose_baseline(
        [n for n, _ in groups]))
    lines = []
    for line in summary.to_markdown(rows).splitlines():
        cells = line.split('|')
        lines.append('|'.join(cells[:6] + cells[8:]))
    curves = {osp.relpath(s['run_dir'], work): s['curve']
              for _, stats in groups for s in stats}
    return '\n'.join(lines), curves


def _status(work, label, seed):
    path = work / label / f'seed_{seed}' / 'sweep_status.json'
    try:
        return json.loads(path.read_text()).get('status')
    except (OSError, ValueError):
        return None


def _mid_way(work):
    """One run finished, another one part-trained: a checkpoint, not done,
    and that checkpoint's epoch validated (mmengine saves an epoch's
    checkpoint before validating it, and a run resumed from it goes on
    with the next epoch: a kill in between would lose one validation)."""
    states = {(m, s): _status(work, m, s) for m in METHODS for s in SEEDS}
    done = [k for k, v in states.items() if v == 'done']
    part = [k for k, v in states.items() if v == 'running' and
            _validated_checkpoint(work / k[0] / f'seed_{k[1]}')]
    return bool(done) and bool(part)


def _validated_checkpoint(run):
    """Whether the run's newest checkpoint's epoch has been validated."""
    epochs = [int(p.stem.split('_')[1]) for p in run.glob('epoch_*.pth')]
    log = run / 'train.log'
    if not epochs or not log.exists():
        return False
    return f'Epoch(val) [{max(epochs)}]' in log.read_text()


def _build_base(tmp, prefetched):
    return tmp, _base_config(tmp / 'base.py')


def _build_uninterrupted(tmp, prefetched):
    _, cfg = prefetched(_build_base)
    work = tmp / 'whole'
    proc = _sweep(cfg, work)
    return work, proc.stdout


PREFETCH = {}  # filled below, fixture by fixture


@pytest.fixture(scope='module')
def base(prefetched):
    return prefetched(_build_base)


@pytest.fixture(scope='module')
def uninterrupted(prefetched):
    return prefetched(_build_uninterrupted)


def test_uninterrupted_sweep(uninterrupted):
    work, out = uninterrupted
    lines = [x for x in out.splitlines() if x.startswith('[')]
    assert len(lines) == 4 and all('done' in x and 'ETA' in x
                                   for x in lines)
    assert 'sweep: all 4 runs finished' in out
    assert list((work / '.submitit').iterdir())  # submitit's job folders
    for m in METHODS:
        for s in SEEDS:
            assert _status(work, m, s) == 'done'
    table, curves = _table(work)
    assert len(curves) == 4 and all(len(c) == 3 for c in curves.values())


def _build_killed(tmp, prefetched):
    """The sweep of test_uninterrupted_sweep, SIGKILLed (with its jobs)
    once a run is done and another one part-trained, then called again:
    the work dir and the second call."""
    _, cfg = prefetched(_build_base)
    work = tmp / 'killed'
    proc = subprocess.Popen(_cmd(cfg, work), env=_env(),
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 400
    try:
        while not _mid_way(work):
            assert proc.poll() is None, 'the sweep ended before the kill'
            assert time.time() < deadline, 'never reached mid-way'
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and all its jobs
        proc.wait()
    time.sleep(1)
    return work, _sweep(cfg, work)


@pytest.fixture(scope='module')
def killed(prefetched):
    return prefetched(_build_killed)


def test_killed_and_called_again(killed, uninterrupted):
    work, again = killed
    lines = {tuple(x.split()[1:3]): x for x in again.stdout.splitlines()
             if x.startswith('[')}
    assert len(lines) == 4
    assert any('skipped (finished)' in x for x in lines.values())
    restarted = [x for x in lines.values() if 'restarted, done' in x]
    assert restarted, again.stdout
    logs = [(work / m / f'seed_{s}' / 'train.log').read_text()
            for m in METHODS for s in SEEDS]
    assert any('resumed epoch' in log for log in logs)  # from a checkpoint
    assert _table(work) == _table(uninterrupted[0])


def _build_failed_run(tmp, prefetched):
    """A sweep of vanilla and a config that breaks (an unknown option)."""
    _, cfg = prefetched(_build_base)
    work = tmp / 'fail'
    bad = tmp / 'bad.py'
    bad.write_text(f"_base_ = [{cfg!r}]\nmodel = dict(backbone=dict("
                   "depth=7))\n")
    proc = subprocess.run(
        [sys.executable, osp.join(TOOLS, 'sweep.py'), cfg, '--methods',
         'vanilla', str(bad), '--seeds', '0', '--jobs', '2', '--work-dir',
         str(work), '--cfg-options', 'train_cfg.max_epochs=1'],
        env=_env(), capture_output=True, text=True, timeout=600)
    return work, proc


PREFETCH.update(base=_build_base, uninterrupted=_build_uninterrupted,
                killed=_build_killed)


@pytest.fixture(scope='module')
def failed_run(prefetched):
    return prefetched(_build_failed_run)


def test_a_failed_run_is_reported_and_the_others_go_on(failed_run):
    work, proc = failed_run
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = {x.split()[1]: x for x in proc.stdout.splitlines()
             if x.startswith('[')}
    log = work / 'bad' / 'seed_0' / 'train.log'
    assert 'FAILED (exit ' in lines['bad'] and f'see {log}' in lines['bad']
    assert 'done' in lines['vanilla']
    assert _status(work, 'vanilla', 0) == 'done'
    assert _status(work, 'bad', 0) == 'failed'
    assert 'sweep: 1 failed (bad seed=0)' in proc.stdout


SBATCH = r'''#!/bin/bash
# stand-in sbatch: keeps the script, prints a job id, then runs the
# array's tasks one after another in the background
state=@STATE@
id=$(cat "$state/next" 2>/dev/null || echo 1000)
echo $((id + 1)) > "$state/next"
cp "$1" "$state/sbatch_$id.sh"
printf '%s\n' "$@" > "$state/sbatch_$id.args"
range=$(sed -n 's/^#SBATCH --array=\([0-9]*\)-\([0-9]*\).*/\1 \2/p' "$1")
task() {
  SLURM_PROCID=0 SLURM_NTASKS=1 SLURM_LOCALID=0 SLURM_NODEID=0 \
  SLURM_JOB_NUM_NODES=1 SLURM_JOB_NODELIST=localhost bash "$1"
}
(
  sleep 2
  if [ -z "$range" ]; then  # one run: a plain job
    SLURM_JOB_ID=$id task "$1"
  else
    for i in $(seq $range); do
      SLURM_ARRAY_JOB_ID=$id SLURM_ARRAY_TASK_ID=$i SLURM_JOB_ID=$id$i \
        task "$1"
    done
  fi
  touch "$state/finished_$id"
) > "$state/background_$id.log" 2>&1 &
echo "Submitted batch job $id"
'''
SRUN = r'''#!/bin/bash
# stand-in srun: one task, its output where --output/--error say
out=/dev/null; err=/dev/null
while [ $# -gt 0 ]; do
  case "$1" in
    --output) out=$2; shift 2;;
    --error) err=$2; shift 2;;
    -*) shift;;
    *) break;;
  esac
done
sub() { s=${1//%A/$SLURM_ARRAY_JOB_ID}; s=${s//%a/$SLURM_ARRAY_TASK_ID}
        s=${s//%t/0}; s=${s//%j/$SLURM_JOB_ID}; echo "$s"; }
mkdir -p "$(dirname "$(sub "$out")")"
exec "$@" > "$(sub "$out")" 2> "$(sub "$err")"
'''
SACCT = r'''#!/bin/bash
# stand-in sacct: the array is RUNNING until its tasks have run
state=@STATE@
echo called >> "$state/sacct_calls"
echo 'JobID|State|NodeList'
while [ $# -gt 0 ]; do
  if [ "$1" = -j ]; then
    if [ -e "$state/finished_$2" ]; then s=COMPLETED; else s=RUNNING; fi
    echo "$2|$s|localhost"; echo "$2_[0-9]|$s|localhost"; shift
  fi
  shift
done
'''


def _stand_ins(bin_dir, state):
    bin_dir.mkdir()
    state.mkdir()
    for name, text in (('sbatch', SBATCH), ('srun', SRUN), ('sacct', SACCT),
                       ('squeue', '#!/bin/bash\necho "JOBID STATE"\n'),
                       ('scancel', '#!/bin/bash\n')):
        path = bin_dir / name
        path.write_text(text.replace('@STATE@', str(state)))
        path.chmod(path.stat().st_mode | stat.S_IEXEC)


def _build_slurm_array(tmp, prefetched):
    """One sweep of 2 runs through the stand-in Slurm commands."""
    _, cfg = prefetched(_build_base)
    bin_dir, state, work = tmp / 'bin', tmp / 'state', tmp / 'work'
    _stand_ins(bin_dir, state)
    env = dict(PATH=f'{bin_dir}{os.pathsep}{os.environ["PATH"]}')
    proc = subprocess.run(
        [sys.executable, osp.join(TOOLS, 'sweep.py'), cfg, '--methods',
         'vanilla', '--seeds', '0', '1', '--work-dir', str(work),
         '--launcher', 'slurm', '--partition', 'gpu', '--jobs', '1',
         '--time', '30', '--cpus-per-task', '2', '--srun-args=--exclusive',
         '--cfg-options', 'train_cfg.max_epochs=1'],
        env=_env(**env), capture_output=True, text=True, timeout=600)
    return state, work, proc


PREFETCH.update(failed_run=_build_failed_run)


@pytest.fixture(scope='module')
def slurm_array(prefetched):
    return prefetched(_build_slurm_array)


PREFETCH.update(slurm_array=_build_slurm_array)


def test_slurm_job_array_with_stand_ins(slurm_array):
    state, work, proc = slurm_array
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    assert 'submitted Slurm job array 1000 (2 runs)' in proc.stdout
    script = (state / 'sbatch_1000.sh').read_text()
    for flag in ('--partition=gpu', '--array=0-1%1', '--time=30',
                 '--gpus-per-node=1', '--ntasks-per-node=1',
                 '--cpus-per-task=2', '--job-name=sweep'):
        assert f'#SBATCH {flag}\n' in script, script
    assert 'srun --unbuffered' in script and '--exclusive' in script
    assert (state / 'next').read_text().strip() == '1001'  # one sbatch call
    lines = [x for x in proc.stdout.splitlines() if x.startswith('[')]
    assert len(lines) == 2 and all('done' in x for x in lines)
    for seed in (0, 1):
        st = json.loads((work / 'vanilla' / f'seed_{seed}' /
                         'sweep_status.json').read_text())
        assert st['status'] == 'done'
        assert st['job_id'] in ('1000_0', '1000_1')


def _build_slurm_rerun(tmp, prefetched):
    """A sweep killed on the login node left its array running (job 999_0
    in the ledger, RUNNING for sacct); the sweep called again is watched
    while it waits, then the job ends."""
    from submitit.core.utils import JobPaths, cloudpickle_dump
    _, cfg = prefetched(_build_base)
    bin_dir, state, work = tmp / 'bin', tmp / 'state', tmp / 'work'
    _stand_ins(bin_dir, state)
    run_dir = work / 'vanilla' / 'seed_0'
    run_dir.mkdir(parents=True)
    (run_dir / 'sweep_status.json').write_text(json.dumps(dict(
        status='running', job_id='999_0')))
    (work / 'slurm_jobs.json').write_text(json.dumps(
        {'vanilla/seed_0': '999_0'}))
    env = dict(PATH=f'{bin_dir}{os.pathsep}{os.environ["PATH"]}')
    proc = subprocess.Popen(
        [sys.executable, osp.join(TOOLS, 'sweep.py'), cfg, '--methods',
         'vanilla', '--seeds', '0', '--work-dir', str(work), '--launcher',
         'slurm', '--partition', 'gpu'], env=_env(**env),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # it asks sacct again and again (polls 0.5 s apart, sacct at most
    # every 2 s) while the job lives
    calls = state / 'sacct_calls'
    deadline = time.time() + 120
    try:
        while not calls.exists() or len(calls.read_text().split()) < 3:
            if proc.poll() is not None or time.time() > deadline:
                break
            time.sleep(0.2)
        waiting = dict(alive=proc.poll() is None,
                       asked=len(calls.read_text().split()),
                       submitted=(state / 'next').exists())
        # job 999_0 ends: its result appears, sacct says COMPLETED
        paths = JobPaths(str(work / '.submitit' / '%j'), job_id='999_0',
                         task_id=0)
        paths.folder.mkdir(parents=True, exist_ok=True)
        cloudpickle_dump(('success', dict(ok=True, line='done in job 999_0',
                                     seconds=1.0, log='-')),
                         paths.result_pickle)
        (state / 'finished_999').touch()
        out, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    return dict(waiting=waiting, rc=proc.returncode, out=out,
                submitted=(state / 'next').exists())


@pytest.fixture(scope='module')
def slurm_rerun(prefetched):
    return prefetched(_build_slurm_rerun)


def test_slurm_rerun_waits_for_live_jobs(slurm_rerun):
    """A sweep killed on the login node leaves its array running; called
    again, it waits for the runs whose job still lives instead of
    submitting them twice, and submits only what is left."""
    res = slurm_rerun
    out = res['out']
    # while the job lived: still running after asking sacct 3 times,
    # nothing submitted
    waiting = res['waiting']
    assert waiting['alive'] and waiting['asked'] >= 3, (waiting, out[-4000:])
    assert not waiting['submitted']
    assert res['rc'] == 0, out[-4000:]
    assert 'still in Slurm jobs of an earlier call: 999_0' in out
    assert '] vanilla seed=0' in out and 'done in job 999_0' in out
    assert not res['submitted']  # nothing submitted again


def _build_kill_stops(tmp, prefetched):
    """A one-run sweep SIGTERMed while its job trains: its output, and
    whether the job's process and the lock are gone."""
    _, cfg = prefetched(_build_base)
    work = tmp / 'term'
    proc = subprocess.Popen(
        [sys.executable, osp.join(TOOLS, 'sweep.py'), cfg, '--methods',
         'vanilla', '--seeds', '0', '--work-dir', str(work)], env=_env(),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 120
    try:
        while _status(work, 'vanilla', 0) != 'running':
            assert time.time() < deadline and proc.poll() is None
            time.sleep(0.2)
        pid = json.loads((work / 'vanilla' / 'seed_0' /
                          'sweep_status.json').read_text())['pid']
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    for _ in range(100):  # the job's process ends
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            ended = True
            break
        time.sleep(0.2)
    else:
        ended = False
    return dict(rc=proc.returncode, out=out, pid=pid, ended=ended,
                lock=(work / '.sweep.lock').exists())


@pytest.fixture(scope='module')
def kill_stops(prefetched):
    return prefetched(_build_kill_stops)


PREFETCH.update(slurm_rerun=_build_slurm_rerun, kill_stops=_build_kill_stops)


def test_kill_stops_the_jobs(kill_stops):
    """``kill`` of the sweep alone (SIGTERM) stops its local jobs, as
    Ctrl-C does, and says how to finish."""
    res = kill_stops
    assert res['rc'] == 130, res['out'][-3000:]
    assert 'Run the same command again' in res['out']
    assert res['ended'], f"job process {res['pid']} still runs"
    assert not res['lock']
