"""What a call may do on its device: the one place that decides the
device-dependent choices of the core, which change how values are computed,
never which values.

- :func:`host_reads_free`: reading a value back to the host costs nothing
  (eager calls on the CPU): then FMix's threshold searches a band found by a
  sample, and the blend runs in place after a finiteness check. Anywhere
  else (a GPU, the ``meta`` device, under ``torch.compile``) nothing is read
  back.
- :func:`arithmetic_bound`: a call costs its arithmetic, not the launches
  of its ops (the CPU): then unwarped boxes render as rows times columns and
  sampling grids are built by broadcasting. Elsewhere the choices with
  fewer ops win.
- :func:`traced_whole`: under ``torch.compile`` an augment's call is traced
  into the caller's graph, except on the CPU for the augments that say so
  (``MixAugment.traced_on_cpu = False``: MiAMix and FMix), which run
  eagerly there (one deliberate graph break): inductor takes tens of
  seconds to compile MiAMix on the CPU and neither compiled call is faster
  than the eager one (docs/benchmarks.md, "Under torch.compile"); the
  single-method augments compile in seconds and run faster compiled.
"""
import torch


def host_reads_free(device: torch.device) -> bool:
    """Whether a value may be read back to the host: eager calls on the
    CPU."""
    return device.type == 'cpu' and not torch.compiler.is_compiling()


def arithmetic_bound(device: torch.device) -> bool:
    """Whether a call on ``device`` costs its arithmetic rather than its
    launches: the CPU."""
    return device.type == 'cpu'


def traced_whole(device: torch.device) -> bool:
    """Whether ``torch.compile`` traces every augment's call on ``device``
    into the graph: everywhere but on the CPU (there, only those with
    ``traced_on_cpu``)."""
    return device.type != 'cpu'
