#!/usr/bin/env python3
"""Pack an image-folder tar (train|test/<class>/<file>) into one compact blob + index, so the
JPEG bytes of CIFAR-10 (55 MB) travel to a GPU machine without tar's per-file padding.

    python benchmarks/gpu/pack_folder.py ../shared/data/cifar10-jpg.tar .devdata/cifar10
    python benchmarks/gpu/unpack_folder.py .devdata/cifar10 /tmp/cifar10      # on the other machine
"""
import json
import sys
import tarfile
from pathlib import Path

src, dst = Path(sys.argv[1]), Path(sys.argv[2])
dst.mkdir(parents=True, exist_ok=True)
index, offset = [], 0
with tarfile.open(src) as tar, open(dst / "blob.bin", "wb") as out:
    for m in tar:
        if not m.isfile():
            continue
        data = tar.extractfile(m).read()
        out.write(data)
        index.append([m.name, offset, len(data)])
        offset += len(data)
(dst / "index.json").write_text(json.dumps(index))
print(f"{len(index)} files, {offset / 1e6:.1f} MB")
