"""Hand the runs of a sweep to submitit: Slurm job arrays, or the same jobs
as local processes, at most ``jobs`` at once, each reported when it ends.

submitit is an optional dependency (``pip install "mmmiamix[sweep]"``);
:func:`require_submitit` says how to get it. Each job calls
:func:`mmmiamix.experiments.sweep.execute_run`; its stdout and stderr are
submitit's logs under ``WORK_DIR/.submitit``, the training's own log is the
run's ``train.log``.
"""
import json
import os
import os.path as osp
import shlex
import socket
import time

from .sweep import execute_run, run_state, write_json

INSTALL = 'pip install "mmmiamix[sweep]"'
#: local jobs have no time limit of their own unless --time gives one
LOCAL_TIMEOUT_MIN = 7 * 24 * 60


def require_submitit():
    """The ``submitit`` module, or ImportError saying how to install it."""
    try:
        import submitit
    except ImportError as e:
        raise ImportError(
            'tools/sweep.py hands its runs to submitit, which is not '
            f'installed: {INSTALL}  (or: pip install submitit). Import '
            f'failed with: {e}') from e
    return submitit


def slurm_parameters(args, n_runs):
    """The SlurmExecutor parameters of a sweep: one job per run, an array
    of ``n_runs`` with at most ``--jobs`` running, ``--gpus-per-job`` GPUs
    and as many tasks per job (one per GPU), ``--time`` minutes."""
    gpj = args.gpus_per_job
    params = dict(partition=args.partition, job_name='sweep',
                  gpus_per_node=gpj, ntasks_per_node=gpj,
                  cpus_per_task=args.cpus_per_task,
                  array_parallelism=min(args.jobs or n_runs, n_runs))
    if args.time is not None:
        params['time'] = args.time
    if args.srun_args:
        params['srun_args'] = shlex.split(args.srun_args)
    return params


def slot_env(args, gpus, slot, jobs):
    """Environment of local job slot ``slot``: its own
    ``CUDA_VISIBLE_DEVICES`` (``--gpus-per-job`` ids of ``gpus``), a port
    for the pytorch launcher; CPU jobs share the cores. Variables the sweep
    does not set keep the sweep's values (submitit's local executor empties
    ``CUDA_VISIBLE_DEVICES`` otherwise)."""
    env = {'CUDA_VISIBLE_DEVICES': os.environ.get('CUDA_VISIBLE_DEVICES')}
    if gpus:
        gpj = args.gpus_per_job
        env['CUDA_VISIBLE_DEVICES'] = ','.join(gpus[slot * gpj:
                                                    (slot + 1) * gpj])
    elif jobs > 1 and 'OMP_NUM_THREADS' not in os.environ:
        env['OMP_NUM_THREADS'] = str(max(1, (os.cpu_count() or 1) // jobs))
    if args.launcher == 'pytorch':
        env['PORT'] = str(args.port + slot)
    return env


def fmt_time(seconds):
    if seconds is None:
        return '?'
    seconds = int(round(seconds))
    return f'{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}'


class Progress:
    """One line per finished run: ``[i/N] name  what | elapsed, left, ETA``.
    """

    def __init__(self, total, jobs):
        self.total, self.jobs = total, max(1, jobs)
        self.finished, self.durations, self.failed = 0, [], []
        self.start = time.time()

    def report(self, run, result):
        self.finished += 1
        if not result['ok']:
            self.failed.append(run)
        if result.get('seconds') is not None:
            self.durations.append(result['seconds'])
        left = self.total - self.finished
        eta = None
        if self.durations:
            eta = sum(self.durations) / len(self.durations) * left / self.jobs
        width = len(str(self.total))
        print(f'[{self.finished:{width}d}/{self.total}] {run.name:<28s} '
              f"{result['line']}  | elapsed "
              f'{fmt_time(time.time() - self.start)}, {left} left, '
              f'ETA {fmt_time(eta) if left else "0:00:00"}', flush=True)


def _outcome(job, run):
    """The result of a finished job; a job that died is a failed run whose
    line names the run's log and the job's."""
    try:
        return job.result()
    except Exception as e:  # the job crashed, was killed or timed out
        first = (str(e).strip().splitlines() or [type(e).__name__])[-1]
        return dict(ok=False, seconds=None, log=run.log,
                    line=f'FAILED: job {job.job_id}: {first[:200]}; see '
                    f'{run.log} and {job.paths.stderr}')


#: overrides every poll interval of the sweep (seconds); for tests, whose
#: stand-in Slurm answers at once
POLL_ENV = 'MMMIAMIX_SWEEP_POLL_S'


def _wait_any(active, poll_s):
    poll_s = float(os.environ.get(POLL_ENV) or poll_s)
    while True:
        done = [job for job in active if job.done()]
        if done:
            return done
        time.sleep(poll_s)


def still_training(run):
    """The pid of a process on this host that still trains ``run`` (a job
    of an earlier sweep that was killed alone), or None."""
    st = run.status() or {}
    if st.get('status') != 'running' or st.get('host') != socket.gethostname():
        return None
    try:
        pid = int(st.get('pid'))
        os.kill(pid, 0)
    except PermissionError:
        return st.get('pid')
    except (TypeError, ValueError, OSError):
        return None
    return pid


def run_local(runs, args, gpus, work_dir, progress, poll_s=0.5):
    """Every run as a local submitit job, ``args.jobs`` at once; a run that
    a process of an earlier sweep still trains is left to it."""
    submitit = require_submitit()
    executor = submitit.LocalExecutor(folder=submitit_folder(work_dir))
    executor.update_parameters(timeout_min=args.time or LOCAL_TIMEOUT_MIN)
    pending, free, active = [], list(range(args.jobs)), {}
    for run in runs:
        pid = still_training(run)
        if pid is None:
            pending.append(run)
            continue
        progress.report(run, dict(
            ok=False, seconds=None, log=run.log, line='left alone: process '
            f'{pid} of an earlier sweep still trains it; run the sweep '
            'again when it ends'))
    try:
        while pending or active:
            while pending and free:
                run, slot = pending.pop(0), free.pop(0)
                env = slot_env(args, gpus, slot, args.jobs)
                active[executor.submit(execute_run, run, env)] = (run, slot)
            for job in _wait_any(active, poll_s):
                run, slot = active.pop(job)
                free.append(slot)
                progress.report(run, _outcome(job, run))
    finally:
        for job in active:  # interrupted: stop what still runs
            job.cancel(check=False)
    return progress.failed


#: Slurm states of a job that has not ended
LIVE_STATES = ('PENDING', 'RUNNING', 'REQUEUED', 'CONFIGURING', 'COMPLETING',
               'SUSPENDED', 'RESIZING')
#: the Slurm job of every run the latest sweep submitted
SLURM_LEDGER = 'slurm_jobs.json'


def live_slurm_jobs(submitit, runs, work_dir, tasks):
    """``{job: run}`` of the runs whose Slurm job, submitted by an earlier
    call of the sweep (one that was killed), has not ended: they are waited
    for, not submitted again."""
    try:
        with open(osp.join(work_dir, SLURM_LEDGER)) as f:
            ledger = json.load(f)
    except (OSError, ValueError):
        return {}
    live = {}
    for run in runs:
        job_id = ledger.get(osp.relpath(run.run_dir, work_dir))
        if job_id is None or run_state(run.run_dir) == 'done':
            continue
        job = submitit.SlurmJob(folder=submitit_folder(work_dir),
                                job_id=job_id, tasks=tasks)
        if job.watcher.get_state(job_id, mode='force') in LIVE_STATES:
            live[job] = run
    return live


def run_slurm(runs, args, work_dir, progress, poll_s=5.0):
    """Every run as a task of one Slurm job array (runs whose job from an
    earlier call still lives are waited for instead)."""
    submitit = require_submitit()
    active = live_slurm_jobs(submitit, runs, work_dir,
                             tuple(range(args.gpus_per_job)))
    todo = [r for r in runs if r not in active.values()]
    if active:
        print(f'sweep: {len(active)} runs still in Slurm jobs of an earlier '
              f"call: {', '.join(j.job_id for j in active)}; waiting for "
              'them', flush=True)
    if todo:
        executor = submitit.SlurmExecutor(folder=submitit_folder(work_dir))
        executor.update_parameters(**slurm_parameters(args, len(todo)))
        jobs = executor.map_array(execute_run, todo)
        print(f'sweep: submitted Slurm job array '
              f'{jobs[0].job_id.split("_")[0]} ({len(jobs)} runs); logs in '
              f'{osp.dirname(submitit_folder(work_dir))}', flush=True)
        active.update(zip(jobs, todo))
    write_json(osp.join(work_dir, SLURM_LEDGER),
               {osp.relpath(r.run_dir, work_dir): j.job_id
                for j, r in active.items()})
    try:
        while active:
            for job in _wait_any(active, poll_s):
                run = active.pop(job)
                progress.report(run, _outcome(job, run))
    except KeyboardInterrupt:
        for job in active:
            job.cancel(check=False)
        raise
    return progress.failed


def submitit_folder(work_dir):
    """Where submitit keeps its pickles and the jobs' stdout/stderr."""
    return osp.join(work_dir, '.submitit', '%j')
