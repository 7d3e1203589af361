"""Long API calls (imports, resolve runs) as jobs: accepted at once, run in the background,
polled until done.

One worker thread per server process runs the jobs one at a time, in order: imports and
resolve runs each hold the store's writer for a long while, so running two at once only
makes both slower (and SQLite would serialize them anyway). The registry lives in memory:
a restarted server forgets its jobs, while what they wrote stays in the store (import
batches and resolve runs are listed from there).
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from fastapi import FastAPI

from rolodex.api.problems import ApiProblem, status_of
from rolodex.exceptions import RolodexError
from rolodex.model.base import utcnow

log = logging.getLogger("rolodex.api")

JobStatus = Literal["queued", "running", "done", "failed"]
KEEP = 500
"""Finished jobs remembered per process; the oldest are forgotten first."""


@dataclass
class Job:
    """One background call: who started it, where it is, and its answer."""

    id: str
    kind: str
    owner: str
    status: JobStatus = "queued"
    created_at: datetime = field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the job as a JSON-ready dict (the error as problem details)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "result": self.result,
            "error": self.error,
        }


def _problem(exc: BaseException) -> dict[str, Any]:
    """Describe a failure the way the API describes errors, without internals."""
    if isinstance(exc, RolodexError):
        status = status_of(exc)
        detail = str(exc) if status != 500 else "the server is misconfigured"
        extra = {"retryable": exc.retryable}
    elif isinstance(exc, ApiProblem):
        status, detail, extra = exc.status, exc.detail, {}
    else:
        status, detail, extra = 500, "unexpected error; it has been logged", {}
    return {"type": "about:blank", "status": status, "detail": detail, **extra}


class JobRegistry:
    """Queue jobs, run them one at a time on a daemon thread, remember their answers."""

    def __init__(self, *, keep: int = KEEP) -> None:
        self.keep = keep
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[
            tuple[Job, Callable[[], dict[str, Any]], Callable[[], None] | None]
        ] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def submit(
        self,
        *,
        kind: str,
        owner: str,
        run: Callable[[], dict[str, Any]],
        cleanup: Callable[[], None] | None = None,
    ) -> Job:
        """Queue `run` (its answer becomes the job's result); `cleanup` runs after it either way."""
        job = Job(id=uuid.uuid4().hex, kind=kind, owner=owner)
        with self._lock:
            self._jobs[job.id] = job
            self._forget()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="rolodex-jobs", daemon=True)
                self._thread.start()
        self._queue.put((job, run, cleanup))
        return job

    def get(self, job_id: str, *, owner: str) -> Job:
        """Return a job its owner started; anyone else's answers 404, so ids cannot be probed."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or job.owner != owner:
            raise ApiProblem(404, f"there is no job {job_id}")
        return job

    def _forget(self) -> None:
        finished = [k for k, j in self._jobs.items() if j.status in ("done", "failed")]
        for key in finished[: max(0, len(self._jobs) - self.keep)]:
            del self._jobs[key]

    def _work(self) -> None:
        while True:
            job, run, cleanup = self._queue.get()
            job.status, job.started_at = "running", utcnow()
            try:
                job.result = run()
                job.status = "done"
            except Exception as exc:  # the job's answer; the worker keeps serving others
                if not isinstance(exc, RolodexError | ApiProblem):
                    log.exception("job %s (%s) failed", job.id, job.kind)
                job.error = _problem(exc)
                job.status = "failed"
            finally:
                job.finished_at = utcnow()
                if cleanup is not None:
                    try:
                        cleanup()
                    except OSError:
                        log.exception("could not clean up after job %s", job.id)


_CREATE = threading.Lock()


def jobs_of(app: FastAPI) -> JobRegistry:
    """The app's job registry, created on first use."""
    with _CREATE:
        registry = getattr(app.state, "jobs", None)
        if registry is None:
            registry = JobRegistry()
            app.state.jobs = registry
    assert isinstance(registry, JobRegistry)
    return registry
