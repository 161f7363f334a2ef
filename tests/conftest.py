import os
from pathlib import Path

import pytest

# keep runs reproducible and light on the 2-core CI machine
os.environ.setdefault("OMP_NUM_THREADS", "2")
# Ray (tests/test_cluster_ray.py): a local instance on 127.0.0.1 only, read when ray is imported
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def loopback_net():
    """Run DDP commands with ``loopback_net.prefix``: in a network with loopback alone (helpers.LoopbackNet)."""
    from helpers import LoopbackNet

    net = LoopbackNet()
    yield net
    net.close()


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA
