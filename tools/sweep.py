"""Run every (method, seed) of a comparison through tools/train.py.

Usage::

    python tools/sweep.py CONFIG --methods vanilla Mixup CutMix MiAMix
        [--seeds 0 1 2] [--work-dir work_dirs/sweep] [--jobs N]
        [--gpus 0,1,2,3 | --gpus 4] [--gpus-per-job 1]
        [--launcher none|pytorch|slurm] [--partition P] [--time MIN]
        [--alpha A]
        [--corrupted DIR [--corrupted-dataset CIFAR10C] [--corruptions ...]]
        [--train-args "--amp"] [--dry-run] [--cfg-options k=v ...]

A *method* is

* ``vanilla``: the base config without a batch augment (hard-label loss);
* a registered batch augment (``Mixup``, ``CutMix``, ``FMix``, ``GridMix``,
  ``GMix``, ``AGMix``, ``MiAMix``, ...; any name in mmpretrain's
  ``BATCH_AUGMENTS`` registry, case-insensitive), optionally with arguments:
  ``Mixup:alpha=0.2`` or ``MiAMix:alpha=1,p_self=0``. The base config gets
  ``model.train_cfg = dict(augments=dict(type=NAME, alpha=ALPHA, ...))`` (how
  mmpretrain 1.2 configs name a batch augment), also written into the
  preprocessor's ``batch_augments`` where the base config has that key
  (mmpretrain's classifier then ignores ``train_cfg``), and a
  ``CrossEntropyLoss`` head gets ``use_soft=True`` (mixed batches carry
  soft scores). ``ALPHA`` is ``--alpha`` or the value the project's configs
  use: 2.0 for MiAMix (paper Table 2), 1.0 for the others;
* a config file (``configs/cifar10/resnet18_fmix.py``), run as it is.

``LABEL=METHOD`` names a method; otherwise the label is the registry name,
the config's file name, or ``NAME_key<value>...`` with arguments.

Layout (nothing is written outside ``--work-dir``)::

    WORK_DIR/
    ├── sweep.json                  # the plan of the latest call
    ├── .submitit/<job id>/         # submitit's pickles and job logs
    ├── slurm_jobs.json             # --launcher slurm: each run's job id
    ├── configs/<label>.py          # generated configs (inherit CONFIG)
    └── <label>/seed_<s>/           # tools/train.py's work dir of one run
        ├── sweep_status.json       # running | done | failed, time, command
        ├── train.log               # the run's stdout and stderr
        ├── robustness.json/.log    # with --corrupted
        └── <timestamp>/vis_data/scalars.json, epoch_*.pth, ...

A run whose status is ``done`` is skipped; any other run found on disk (it
failed, or the sweep was killed) is restarted with ``--resume``, which
continues from its newest intact checkpoint when there is one. Each run
gets ``randomness.seed=<seed>`` after the ``--cfg-options``. With
``--corrupted`` the final checkpoint of every run is evaluated by
tools/test_robustness.py (skipped when a complete ``robustness.json``
exists). A failed run is reported with the path of its log; the others go
on. Called again, the sweep finishes what is left.

The runs are submitit jobs (``pip install "mmmiamix[sweep]"``), one per
run. Locally (``--launcher none|pytorch``) ``--jobs N`` run at once as
processes; ``--gpus`` (ids or a count) gives each its own
``CUDA_VISIBLE_DEVICES`` (``--gpus-per-job`` ids each; with ``--launcher
pytorch`` a job is tools/dist_train.sh over them). Without GPUs and with
several jobs, each job gets ``OMP_NUM_THREADS = cores // jobs`` unless it is
set. ``--launcher slurm`` submits one Slurm job array on ``--partition``:
``--gpus-per-job`` GPUs and as many tasks per job, at most ``--jobs``
running at once (default all), ``--time`` minutes each, ``--srun-args``
added to submitit's ``srun``; the robustness evaluation runs in the same
job. See docs/sweeps.md.
"""
import argparse
import os
import os.path as osp
import shlex
import signal
import sys
import time

from mmmiamix.experiments import launch
from mmmiamix.experiments.sweep import (
    PLAN_FILE,
    build_plan,
    plan_record,
    run_state,
    train_command,
    write_json,
)

TOOLS = osp.dirname(osp.abspath(__file__))
LOCK_FILE = '.sweep.lock'


# --------------------------------------------------------------- lock
def acquire_lock(work_dir):
    path = osp.join(work_dir, LOCK_FILE)
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                with open(path) as f:
                    pid = int(f.read().strip() or 0)
                os.kill(pid, 0)
            except (ValueError, ProcessLookupError, OSError):
                os.remove(path)  # stale: its sweep is gone
                continue
            raise RuntimeError(
                f'another sweep (pid {pid}) is running in {work_dir}; '
                f'remove {path} if it is not')
        with os.fdopen(fd, 'w') as f:
            f.write(str(os.getpid()))
        return path
    raise RuntimeError(f'cannot create {path}')


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='Run every (method, seed) through tools/train.py',
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config', nargs='?',
                   help='base config (not needed when every method is a '
                   'config file)')
    p.add_argument('--methods', nargs='+', required=True,
                   help="'vanilla', registered batch augments (NAME or "
                   'NAME:key=value,...), config files; LABEL=METHOD names '
                   'one')
    p.add_argument('--seeds', nargs='+', type=int, default=[0])
    p.add_argument('--work-dir', default='work_dirs/sweep')
    p.add_argument('--alpha', type=float,
                   help='alpha of every registered augment (default: 2.0 '
                   'for MiAMix, 1.0 for the others)')
    p.add_argument('--jobs', type=int,
                   help='runs at once (default 1; with --gpus: GPUs / '
                   '--gpus-per-job; with slurm: all)')
    p.add_argument('--gpus', help='GPU ids (0,1,2) or a count (3): each job '
                   'gets its own CUDA_VISIBLE_DEVICES')
    p.add_argument('--gpus-per-job', type=int, default=1)
    p.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'],
                   default='none',
                   help='none: tools/train.py; pytorch: tools/dist_train.sh '
                   'with --gpus-per-job processes (both local processes); '
                   'slurm: a Slurm job array')
    p.add_argument('--port', type=int, default=29500,
                   help='first torchrun port (pytorch launcher; job i uses '
                   'port + i)')
    p.add_argument('--partition', help='slurm partition')
    p.add_argument('--cpus-per-task', type=int, default=5,
                   help='slurm CPUs per task')
    p.add_argument('--srun-args', help='extra srun arguments (slurm)')
    p.add_argument('--time', type=int,
                   help='time limit of a job in minutes (slurm; locally '
                   'none unless given)')
    p.add_argument('--train-args',
                   help='extra tools/train.py arguments, one string, e.g. '
                   '"--amp"')
    p.add_argument('--corrupted',
                   help='CIFAR-C style folder (tools/make_corrupted.py): '
                   'evaluate every final checkpoint on it')
    p.add_argument('--corrupted-dataset', default='CIFAR10C',
                   choices=['CIFAR10C', 'CIFAR100C'])
    p.add_argument('--corruptions', nargs='+',
                   help="corruptions to test (default: test_robustness.py's "
                   "15 benchmark ones; 'all': 19)")
    p.add_argument('--severities', nargs='+', type=int)
    p.add_argument('--robustness-args',
                   help='extra tools/test_robustness.py arguments, one string')
    p.add_argument('--dry-run', action='store_true',
                   help='print the plan, write nothing')
    p.add_argument('--cfg-options', nargs='+',
                   help='passed to every run, e.g. train_cfg.max_epochs=10')
    return p.parse_args(argv)


def check_jobs(args, runs, gpus):
    """Fill in the default ``--jobs``; ValueError on a bad combination."""
    if args.jobs is None:
        if args.launcher == 'slurm':
            args.jobs = len(runs)
        elif gpus:
            args.jobs = max(1, len(gpus) // args.gpus_per_job)
        else:
            args.jobs = 1
    if args.jobs < 1:
        raise ValueError(f'--jobs must be >= 1, got {args.jobs}')
    if gpus and args.launcher != 'slurm' and \
            args.jobs * args.gpus_per_job > len(gpus):
        raise ValueError(
            f'--jobs {args.jobs} x --gpus-per-job {args.gpus_per_job} '
            f'needs more than the {len(gpus)} GPUs of --gpus')
    if args.corrupted and not osp.isdir(args.corrupted):
        raise ValueError(f'--corrupted: {args.corrupted!r} is not a folder')
    if args.time is not None and args.time < 1:
        raise ValueError(f'--time must be >= 1 minute, got {args.time}')


def dry_run(args, runs, configs, work_dir):
    n_methods = len({r.method.label for r in runs})
    print(f'plan: {len(runs)} runs ({n_methods}'
          f' methods x {len(args.seeds)} seeds), {args.jobs} at once, '
          f'work dir {work_dir}')
    for path, text in configs.items():
        print(f'--- {path}\n{text}', end='')
    for r in runs:
        state = run_state(r.run_dir)
        cmd = 'skip' if state == 'done' else shlex.join(
            train_command(r, state))
        print(f'[{state}] {r.name}: {cmd}')
        if r.rob_cmd:
            print(f'    then: {shlex.join(r.rob_cmd)}')
    return 0


def execute(args, runs, configs, gpus, work_dir):
    """Write the configs and the plan, run every run; the failed runs."""
    for path, text in configs.items():
        os.makedirs(osp.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)
    write_json(osp.join(work_dir, PLAN_FILE),
               plan_record(args, runs, work_dir))
    done = sum(run_state(r.run_dir) == 'done' for r in runs)
    print(f'sweep: {len(runs)} runs, {done} finished already, '
          f'{args.jobs} at once, work dir {work_dir}', flush=True)
    progress = launch.Progress(len(runs), args.jobs)
    if args.launcher == 'slurm':
        return launch.run_slurm(runs, args, work_dir, progress)
    return launch.run_local(runs, args, gpus, work_dir, progress)


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f'signal {signum}')


def main(argv=None):
    args = parse_args(argv)
    try:
        runs, configs, notes, gpus = build_plan(args, TOOLS)
        check_jobs(args, runs, gpus)
        if not args.dry_run:
            launch.require_submitit()
    except (ValueError, ImportError) as e:
        sys.exit(f'error: {e}')
    work_dir = osp.abspath(args.work_dir)
    for n in notes:
        print(f'note: {n}')
    if args.dry_run:
        return dry_run(args, runs, configs, work_dir)
    os.makedirs(work_dir, exist_ok=True)
    try:
        lock = acquire_lock(work_dir)
    except RuntimeError as e:
        sys.exit(f'error: {e}')
    start = time.time()
    # kill (SIGTERM) stops the jobs as Ctrl-C does
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        failed = execute(args, runs, configs, gpus, work_dir)
    except KeyboardInterrupt:
        print('sweep: interrupted; its jobs are stopped. Run the same '
              'command again to finish what is left', flush=True)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        os.remove(lock)
    total = launch.fmt_time(time.time() - start)
    if failed:
        names = ', '.join(sorted({r.name for r in failed}))
        print(f'sweep: {len(failed)} failed ({names}) in {total}; run the '
              'same command again to restart them')
        return 1
    print(f'sweep: all {len(runs)} runs finished in {total}; summarize with'
          f' python tools/summarize.py {args.work_dir}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
