"""Worker processes for ``scheduler="processes"`` (see :mod:`cairn.processes.scheduler`)."""

from .pool import WorkerDied, shutdown
from .scheduler import TaskCrashedError

__all__ = ["TaskCrashedError", "WorkerDied", "shutdown"]
