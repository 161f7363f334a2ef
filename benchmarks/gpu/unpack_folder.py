#!/usr/bin/env python3
"""Inverse of pack_folder.py: write the files back as a folder tree."""
import json
import sys
from pathlib import Path

src, dst = Path(sys.argv[1]), Path(sys.argv[2])
index = json.loads((src / "index.json").read_text())
blob = (src / "blob.bin").read_bytes()
for name, off, n in index:
    p = dst / name.lstrip("./")
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(blob[off : off + n])
print(f"{len(index)} files -> {dst}")
