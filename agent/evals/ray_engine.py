"""Ray as the batch engine of `glyphfix eval --engine ray [--address ADDR]`.

The same `run_case` as the local pool, mapped over a pool of Ray actors: each actor loads the
models once (a Runner) and edits and judges the cases sent to it; the driver writes each row to
results.jsonl as it comes back, in the cases' order, exactly as the local pool does, so a run
resumes the same way (ids already in results.jsonl are skipped). An actor whose process dies is
restarted and its case retried (max_restarts, max_task_retries): a row is written once, when its
case finished, so nothing is lost or done twice.

Without --address a local Ray is started with --workers CPUs (`ray.init(num_cpus=...)`); with one,
the driver joins that cluster (`ray start --head` on one machine, `ray start --address HEAD:6379`
on the others) and runs --workers actors there. Ray is an optional extra: pip install -e ".[scale]".
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Generator
from pathlib import Path
from urllib.parse import urlparse

from agent.evals.runner import Case, Runner, run_case
from agent.schemas import Method

RESTARTS = 3  # an actor (a worker process) that dies is restarted this often, its case retried
OBJECT_STORE_BYTES = 256 * 2**20  # a local Ray's shared memory: rows are small; images go to disk
CONNECT_TIMEOUT_S = 5.0  # how long the cluster's address may take to answer before the run is refused


class EngineError(RuntimeError):
    """The engine cannot run (Ray missing, the cluster unreachable): one line, exit 2."""


class CaseWorker:
    """One Ray actor: the models, loaded once, and the case runner over them."""

    def __init__(self, judge: bool):
        self.runner = Runner(judge, threads=1)  # one core per actor, as one per local worker process

    def run(self, case: Case, method: Method, out_dir: str, seed: int) -> dict:
        return run_case(self.runner, case, method, Path(out_dir), seed)

    def pid(self) -> int:
        return os.getpid()


def check_address(address: str) -> None:
    """EngineError unless something answers at the cluster's address (ray.init itself retries an
    unreachable address for minutes)."""
    if address == "auto":
        return
    url = urlparse(address if "://" in address else f"//{address}")
    try:
        host, port = url.hostname, url.port
    except ValueError:
        host, port = None, None
    if not host or not port:
        raise EngineError(f"--address {address}: give HOST:PORT (the head's GCS port, 6379 by default) or ray://HOST:PORT")
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as e:
        raise EngineError(f"cannot reach the Ray cluster at {address}: {e.strerror or e}") from None


def start(workers: int, address: str | None):
    """ray, initialised: a local Ray with `workers` CPUs, or the cluster at address."""
    try:
        import ray
    except ImportError:
        raise EngineError('--engine ray needs Ray: pip install -e ".[scale]"') from None
    if address:
        check_address(address)
    try:
        if address:
            ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False,
                     object_store_memory=OBJECT_STORE_BYTES)
    except Exception as e:  # noqa: BLE001 - Ray raises several kinds; each is one line for the user
        raise EngineError(f"Ray could not start{' at ' + address if address else ''}: {e}".splitlines()[0]) from None
    return ray


def ray_rows(cases: list[Case], method: Method, out_dir: Path, judge: bool, seed: int, workers: int,
             address: str | None = None, on_actors=None) -> Generator[dict, None, None]:
    """Each case's row, in the cases' order, from `workers` Ray actors. on_actors(actors) is called
    once the pool exists (tests use it to kill a worker mid-run)."""
    ray = start(workers, address)
    try:
        from ray.util import ActorPool

        actor = ray.remote(num_cpus=1, max_restarts=RESTARTS, max_task_retries=RESTARTS)(CaseWorker)
        actors = [actor.remote(judge) for _ in range(max(1, workers))]
        if on_actors is not None:
            on_actors(actors)
        pool = ActorPool(actors)
        done = 0
        try:
            for row in pool.map(lambda a, c: a.run.remote(c, method, str(out_dir), seed), cases):
                done += 1
                yield row
        except ray.exceptions.RayError as e:
            # A case that killed its worker more than RESTARTS times (run_case itself never raises):
            # the rows before it are written; the run resumes from it.
            raise EngineError(f"case {cases[done].id} failed on Ray after {RESTARTS} restarts of its worker "
                              f"({type(e).__name__}); {done} rows written, run again to resume") from None
    finally:
        ray.shutdown()
