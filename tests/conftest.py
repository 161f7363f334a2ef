import os
from pathlib import Path

import pytest

# keep runs reproducible and light on the 2-core CI machine
os.environ.setdefault("OMP_NUM_THREADS", "2")

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA
