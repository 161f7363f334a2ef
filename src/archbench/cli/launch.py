"""``archbench train --nproc N``: the torchrun launcher, and what is checked once before N processes start."""
from __future__ import annotations

import copy
import logging
import os
import sys
from pathlib import Path
from typing import List, Optional

import torch
from torch.distributed.elastic.multiprocessing.api import SignalException
from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
from torch.distributed.run import parse_args, run

from ..data import load_data
from ..errors import ArchbenchError, UsageError
from ..experiment.resolve import resolve_config
from ..files import LOCKED_ENV, lock_dir
from ..rundir import refuse_interrupted
from ..train.runtime import too_few_gpus


def check_before_launch(cfg, settings: dict) -> None:
    """What one process would refuse, refused once before N start (every rank would print the error);
    and the data loaded once, so that a data set that downloads does so here, not N times at once."""


    if cfg.out:
        refuse_interrupted(Path(cfg.out))
    run = resolve_config(copy.deepcopy(cfg), copy.deepcopy(settings))
    load_data(run.data, data_dir=run.data_dir, seed=run.data_seed, **run.data_args)


PASSED_CODES = (1, 2, 3)  # a rank's own exit status, told apart by the caller (see EPILOG); signals become 1


def hold_out_dir(argv: List[str]) -> None:
    """The launcher holds the run directory's lock for its ranks (they skip it: ARCHBENCH_LOCKED)."""
    for flag in ("--out", "--resume"):
        for i, a in enumerate(argv):
            value = argv[i + 1] if a == flag and i + 1 < len(argv) else a[len(flag) + 1:] if a.startswith(flag + "=") else None
            if value:
                lock_dir(value)
                os.environ[LOCKED_ENV] = os.pathsep.join(filter(None, [os.environ.get(LOCKED_ENV), os.path.realpath(value)]))


def launch_torchrun(nproc: int, device: Optional[str] = None, nodes: Optional[tuple] = None) -> int:
    """Re-run this very command under torchrun with N processes (the same as typing torchrun yourself).
    torchrun's agent runs in this process, so that a failed rank ends the command with one line instead
    of the agent's traceback and failure table."""



    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if device in ("auto", "cuda") and gpus and nproc > gpus:  # say so before torchrun starts N ranks
        raise UsageError(too_few_gpus(nproc))

    out: List[str] = []
    skip = False
    for a in sys.argv[1:]:  # drop --nproc N / --nproc=N
        if skip:
            skip = False
            continue
        if a in ("--nproc", "--nnodes", "--rdzv-endpoint"):
            skip = True
            continue
        if a.startswith(("--nproc=", "--nnodes=", "--rdzv-endpoint=")):
            continue
        out.append(a)
    launch = ["--standalone", f"--nproc-per-node={nproc}", "-m", "archbench", *out]
    if nodes is not None:  # (N, HOST:PORT): every node runs this same command; rank 0's node is the host
        launch = [f"--nnodes={nodes[0]}", "--rdzv-backend=c10d", f"--rdzv-endpoint={nodes[1]}",
                  f"--rdzv-id=archbench-{nodes[1]}", *launch[1:]]
        nproc *= nodes[0]
    hold_out_dir(sys.argv[1:])
    print("launching: torchrun " + " ".join(launch), file=sys.stderr)
    # the agent logs each failure (said below in one line) and a banner about OMP_NUM_THREADS=1 per rank
    logging.getLogger("torch.distributed.elastic").setLevel(logging.CRITICAL)
    logging.getLogger("torch.distributed.run").setLevel(logging.ERROR)
    try:
        run(parse_args(launch))
    except ChildFailedError as e:
        rank, failure = e.get_first_failure()
        code = failure.exitcode
        err = ArchbenchError(f"process {rank} of {nproc} stopped first, with "
                             + (f"exit status {code}" if code >= 0 else f"signal {-code}")
                             + "; its message, if it wrote one, is above")
        err.exit_code = code if code in PASSED_CODES else 1
        raise err from None
    except SignalException:  # Ctrl-C or a kill reached the agent, which stopped the ranks
        raise KeyboardInterrupt from None
    return 0
