"""`python -m conformance.worker FD STDERR EXTRA_JSON`: a conformance.isolation worker in
another Python environment (conformance.environments). FD is this process's end of the task
pipe, STDERR the file its output goes to, EXTRA_JSON the run's third-party targets. The
protocol is the spawned workers' own (isolation._worker_main); only the start differs."""

from __future__ import annotations

import json
import sys
from multiprocessing.connection import Connection

from conformance.isolation import _worker_main


def main(argv: list[str]) -> None:
    fd, stderr_path, extra = int(argv[1]), argv[2], json.loads(argv[3])
    _worker_main(Connection(fd), stderr_path, extra)


if __name__ == "__main__":
    main(sys.argv)
