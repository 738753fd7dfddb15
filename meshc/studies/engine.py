"""Engines that run a sweep's tasks: in this process (one job), a local process pool, or
Ray (the only module that imports it). Each calls `done(task, outcome)` as a task
finishes, in whatever order they finish; the sweep sorts by point, so the results never
depend on the engine or the number of jobs (each compile's CP-SAT workers are fixed by
its options, not by the jobs).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Sequence

from meshc.errors import MeshcError
from meshc.studies.run import Outcome, run_task
from meshc.studies.tasks import Task

Done = Callable[[Task, Outcome], None]
ENGINES = ("local", "ray")


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


def run(tasks: Sequence[Task], done: Done, jobs: int, engine: str = "local",
        ray_address: str | None = None) -> None:
    if not tasks:
        return
    if engine == "ray":
        _ray(tasks, done, jobs, ray_address)
    elif jobs <= 1 or len(tasks) == 1:
        for t in tasks:
            done(t, run_task(t))
    else:
        _pool(tasks, done, jobs)


def _with_task(task: Task) -> tuple[Task, Outcome]:
    return task, run_task(task)


def _pool(tasks: Sequence[Task], done: Done, jobs: int) -> None:
    # spawn: a forked child would inherit the progress bar's thread and locks
    pool = multiprocessing.get_context("spawn").Pool(min(jobs, len(tasks)))
    try:
        for task, outcome in pool.imap_unordered(_with_task, tasks):
            done(task, outcome)
    finally:  # also on Ctrl-C: stop the running points (the cache keeps the finished ones)
        pool.terminate()
        pool.join()


def _ray(tasks: Sequence[Task], done: Done, jobs: int, address: str | None) -> None:
    try:
        import ray
    except ImportError:
        raise MeshcError("--engine ray needs Ray", hint="pip install 'meshc[ray]'") from None
    started = not ray.is_initialized()
    if started:
        try:
            if address:
                ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
            else:
                ray.init(num_cpus=jobs, include_dashboard=False, log_to_driver=False,
                         logging_level=logging.ERROR)
        except ConnectionError as e:
            raise MeshcError(f"cannot reach the Ray cluster: {e}",
                             where="--ray-address") from None
    remote = ray.remote(num_cpus=1, max_retries=0)(run_task)
    pending: dict[object, Task] = {}
    try:
        pending = {remote.remote(t): t for t in tasks}
        while pending:
            finished, _ = ray.wait(list(pending), num_returns=1)
            for ref in finished:
                done(pending.pop(ref), ray.get(ref))
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
        if started:
            ray.shutdown()
