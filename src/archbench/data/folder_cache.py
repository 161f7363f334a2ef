"""Image trees and tars decoded once into a memory-mapped uint8 cache (N, C, H, W), shared by runs and processes."""
from __future__ import annotations

import bz2
import collections
import contextlib
import gzip
import hashlib
import io
import json
import lzma
import multiprocessing as mp
import os
import re
import shutil
import sys
import tarfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np
import torch
from PIL import Image

from ..errors import DataError, UsageError
from ..files import atomic_write_text, file_lock
from .progress import bar_wanted, progress_bar

FORMAT = 1  # bump when the cache layout changes


SPLITS = ("train", "test")


IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm"}


GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}


CHUNK = 512  # images per task sent to a worker


PARALLEL_MIN = 2048  # fewer images than this decode in-process (a pool costs a second to start)


def _read(root: str, is_tar: bool, loc, fd: Optional[int]) -> bytes:
    if is_tar:
        offset, size = loc
        return os.pread(fd, size, offset)
    with open(os.path.join(root, loc), "rb") as f:
        return f.read()


def _open_image(data: bytes, name: str):
    try:
        return Image.open(io.BytesIO(data))
    except Exception as e:  # PIL raises several types for garbage
        raise DataError(f"cannot read image {name}: {type(e).__name__}: {e}") from None


def _probe_chunk(root: str, is_tar: bool, items) -> List[Tuple[int, int, str, str]]:
    """(width, height, mode, format) of each image, from its header only."""
    out = []
    with open(root, "rb") if is_tar else contextlib.nullcontext() as f:
        fd = f.fileno() if is_tar else None
        for name, loc, _ in items:
            im = _open_image(_read(root, is_tar, loc, fd), name)
            out.append((im.size[0], im.size[1], im.mode, im.format or ""))
    return out


def _decode_chunk(root: str, is_tar: bool, items, size: Tuple[int, int], mode: str) -> np.ndarray:
    """Decode, convert and resize a list of (name, loc, fast) -> (n, C, H, W) uint8.

    ``fast`` images (8-bit JPEG/PNG already of the target size) go through torchvision's libjpeg/libpng
    decoder, faster than PIL for small images (docs/measurements.md); everything else through PIL.
    """
    with warnings.catch_warnings():  # torchvision >= 0.29 says its decoders move to torchcodec
        warnings.simplefilter("ignore", DeprecationWarning)
        return _decode_items(root, is_tar, items, size, mode)


def _tv_decoder():
    """torchvision's decode_image and read modes, or None where torchvision has no decoders."""
    try:
        from torchvision.io import ImageReadMode, decode_image
    except ImportError:
        return None
    return decode_image, {"L": ImageReadMode.GRAY, "RGB": ImageReadMode.RGB}


def _decode_items(root, is_tar, items, size, mode):
    tv = _tv_decoder()
    decode_image, read_mode = (tv[0], tv[1][mode]) if tv else (None, None)
    h, w = size
    out = np.empty((len(items), 1 if mode == "L" else 3, h, w), np.uint8)
    with open(root, "rb") if is_tar else contextlib.nullcontext() as f:
        fd = f.fileno() if is_tar else None
        for i, (name, loc, fast) in enumerate(items):
            data = _read(root, is_tar, loc, fd)
            try:
                if fast and decode_image is not None:
                    out[i] = decode_image(torch.frombuffer(bytearray(data), dtype=torch.uint8), mode=read_mode).numpy()
                    continue
                im = _open_image(data, name)
                if im.mode != mode:
                    im = im.convert(mode)
                if im.size != (w, h):
                    im = im.resize((w, h), Image.BILINEAR)
                a = np.asarray(im)
            except DataError:
                raise
            except Exception as e:  # truncated or broken data shows up only here
                why = (str(e).strip().splitlines() or [""])[-1][:200]  # torchvision's first lines are C++ paths
                raise DataError(f"cannot decode image {name}: {type(e).__name__}: {why}") from None
            out[i] = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
    return out


def _splits_of(root: Path) -> Tuple[str, ...]:
    """("train", "test"), or ("",) for one folder of class folders (ImageFolder layout: data/imagefolder.py)."""
    return SPLITS if (root / "train").is_dir() or (root / "test").is_dir() else ("",)


def _scan_folder(root: Path) -> List[Tuple[str, str, str, object]]:
    """(split, class, name, loc) for every image under root/{train,test}/<class>/ (recursively); a flat
    root/<class>/ tree is all "train", split later by seed."""
    entries = []
    for sub in _splits_of(root):
        split, d = sub or "train", root / sub
        for cls in sorted(p.name for p in d.iterdir() if p.is_dir() and not p.name.startswith(".")):
            for dirpath, dirnames, files in os.walk(d / cls):
                dirnames[:] = sorted(n for n in dirnames if not n.startswith("."))
                for fn in sorted(files):
                    if Path(fn).suffix.lower() in IMAGE_EXTS and not fn.startswith("."):
                        rel = os.path.relpath(os.path.join(dirpath, fn), root)
                        entries.append((split, cls, rel, rel))
    return entries


def _scan_tar(path: Path) -> List[Tuple[str, str, str, object]]:
    entries = []
    with tarfile.open(path, "r:") as tf:
        for m in tf:
            parts = [p for p in m.name.split("/") if p not in ("", ".")]
            if not m.isfile() or len(parts) < 3 or any(p.startswith(".") for p in parts):
                continue
            if Path(parts[-1]).suffix.lower() not in IMAGE_EXTS:
                continue
            # <prefix...>/<split>/<class>/<file>
            for i in range(len(parts) - 2):
                if parts[i] in SPLITS:
                    entries.append((parts[i], parts[i + 1], "/".join(parts), (m.offset_data, m.size)))
                    break
    entries.sort(key=lambda e: (e[0], e[1], e[2]))
    return entries


def _layout_error(path) -> DataError:
    return DataError(
        f"{path} is not an image folder: expected train/<class>/<images> and test/<class>/<images> "
        "(one folder per class), or a .tar of that tree"
    )


def cache_root() -> Path:
    return Path(os.environ.get("ARCHBENCH_CACHE") or Path.home() / ".cache" / "archbench") / "folder"


def _source_key(path: Path, is_tar: bool, size_opt) -> str:
    h = hashlib.sha1(f"{FORMAT}|{size_opt}|{path.resolve()}".encode())
    if is_tar:
        st = path.stat()
        h.update(f"|{st.st_size}|{st.st_mtime_ns}".encode())
    else:
        for split in _splits_of(path):
            for dirpath, dirnames, files in os.walk(path / split):
                dirnames.sort()
                for fn in sorted(files):
                    p = os.path.join(dirpath, fn)
                    st = os.stat(p)
                    h.update(f"|{os.path.relpath(p, path)}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:20]


def _unpacked_tar(path: Path, work: Path) -> Path:
    """A compressed tar is not seekable: decompress it once into the cache, read members from that."""
    with open(path, "rb") as f:
        magic = f.read(6)
    opener = {b"\x1f\x8b": gzip.open, b"BZ": bz2.open, b"\xfd7zXZ": lzma.open}
    for sig, fn in opener.items():
        if magic.startswith(sig):
            out = work / "source.tar"
            with fn(path, "rb") as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 22)
            return out
    return path


def _pool(workers: int) -> ProcessPoolExecutor:
    # fork where it exists, like torch's DataLoader: workers start at once and never re-import the
    # caller's script (spawn/forkserver would, and a script without a __main__ guard would recurse)
    ctx = mp.get_context("fork" if sys.platform.startswith("linux") else None)
    return ProcessPoolExecutor(workers, mp_context=ctx, initializer=torch.set_num_threads, initargs=(1,))


def _run_chunks(pool, window: int, fn, chunks, args, desc: str):
    """Yield fn(*args[0], chunk, *args[1]) for each chunk, in order, in ``pool`` (or here if None)."""

    bar = progress_bar(total=sum(len(c) for c in chunks), desc=desc, unit="img", disable=not bar_wanted(), leave=False)
    try:
        if pool is None:
            for c in chunks:
                yield fn(*args[0], c, *args[1])
                bar.update(len(c))
            return
        pending = collections.deque()
        for c in chunks:  # a bounded window in flight, so finished chunks never pile up in RAM
            pending.append((len(c), pool.submit(fn, *args[0], c, *args[1])))
            if len(pending) >= window:
                n, fut = pending.popleft()
                yield fut.result()
                bar.update(n)
        while pending:
            n, fut = pending.popleft()
            yield fut.result()
            bar.update(n)
    finally:
        bar.close()


def _parse_size(image_size) -> Optional[Tuple[int, int]]:
    if image_size in (None, "", 0):
        return None
    try:
        if isinstance(image_size, (int, float)):
            hw = (int(image_size), int(image_size))
        elif isinstance(image_size, str):
            p = [int(v) for v in re.split(r"[x,\s]+", image_size.strip().lower()) if v]
            hw = (p[0], p[0]) if len(p) == 1 else (p[0], p[1])
        else:
            hw = (int(image_size[0]), int(image_size[1]))
    except (ValueError, IndexError, TypeError):
        raise UsageError(f"image_size {image_size!r} is not N or HxW (e.g. 32 or 64x48)") from None
    if min(hw) < 1:
        raise UsageError(f"image_size {image_size!r} must be positive")
    return hw


def build_cache(path: Path, out: Path, image_size=None, workers: int = 0) -> dict:
    """Decode the image tree at ``path`` into ``out`` (see module docstring); returns the manifest."""
    t0 = time.time()
    is_tar = path.is_file()
    root = _unpacked_tar(path, out) if is_tar else path
    try:
        entries = _scan_tar(root) if is_tar else _scan_folder(root)
    except tarfile.TarError as e:
        raise DataError(f"cannot read tar {path}: {e}") from None
    by_split = {s: [e for e in entries if e[0] == s] for s in SPLITS}
    missing = [s for s in (SPLITS if is_tar or _splits_of(root) == SPLITS else ("train",)) if not by_split[s]]
    if missing:
        raise DataError(f"{path}: no images under {' or '.join(m + '/' for m in missing)}; expected "
                        "train/<class>/<images> and test/<class>/<images> (one folder per class)")
    classes = sorted({e[1] for e in by_split["train"]})
    extra = sorted({e[1] for e in by_split["test"]} - set(classes))
    if extra:
        raise DataError(f"{path}: test/ has classes that train/ lacks: {', '.join(extra[:5])}")
    workers = workers or os.cpu_count() or 1
    src = (str(root), is_tar)
    items = {split: [(f"{e[2]} in {path}" if is_tar else str(root / e[2]), e[3], False) for e in by_split[split]]
             for split in SPLITS}
    everything = items["train"] + items["test"]
    chunks = [everything[i : i + CHUNK] for i in range(0, len(everything), CHUNK)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        _tv_decoder()  # imported here once: forked workers inherit it instead of each importing it
    parallel = workers > 1 and len(everything) >= PARALLEL_MIN
    with _pool(workers) if parallel else contextlib.nullcontext() as pool:
        run = lambda fn, chunks, args, desc: _run_chunks(pool, 4 * workers, fn, chunks, args, desc)  # noqa: E731
        probes = [p for r in run(_probe_chunk, chunks, (src, ()), "scanning images") for p in r]
        sizes = collections.Counter((h, w) for w, h, _, _ in probes)
        gray = sum(m in GRAY_MODES for _, _, m, _ in probes)
        mode = "L" if gray * 2 > len(probes) else "RGB"
        hw = _parse_size(image_size) or max(sizes.items(), key=lambda kv: (kv[1], kv[0]))[0]
        c = 1 if mode == "L" else 3
        index = {cls: i for i, cls in enumerate(classes)}
        done = 0
        for split in SPLITS:
            n = len(items[split])
            fast = [(h, w) == hw and fmt in ("JPEG", "PNG") and m in ("1", "L", "LA", "P", "RGB", "RGBA")
                    for w, h, m, fmt in probes[done : done + n]]
            todo = [(name, loc, ok) for (name, loc, _), ok in zip(items[split], fast)]
            np.save(out / f"{split}_y.npy", np.array([index[e[1]] for e in by_split[split]], np.int64))
            x = np.lib.format.open_memmap(out / f"{split}_x.npy", mode="w+", dtype=np.uint8, shape=(n, c, *hw))
            pos = 0
            for a in run(_decode_chunk, [todo[i : i + CHUNK] for i in range(0, n, CHUNK)], (src, (hw, mode)),
                         f"decoding {split}"):
                x[pos : pos + len(a)] = a
                pos += len(a)
            x.flush()
            del x
            done += n
    if root != path:
        os.remove(root)
    manifest = {
        "format": FORMAT, "source": str(path.resolve()), "classes": classes, "shape": [c, *hw], "mode": mode,
        "counts": {s: len(by_split[s]) for s in SPLITS}, "resized": sum(v for k, v in sizes.items() if k != hw),
        "converted": len(probes) - gray if mode == "L" else gray,
        "build_seconds": round(time.time() - t0, 2), "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=1))
    return manifest


def _memmap(path: Path) -> torch.Tensor:
    with warnings.catch_warnings():  # read-only on purpose: the cache must never change under a run
        warnings.filterwarnings("ignore", message=".*not writable.*")
        return torch.from_numpy(np.load(path, mmap_mode="r"))


def _slug(path: Path) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", path.name)[:40] or "root"


def cached_tree(path: Path, image_size=None, workers: int = 0) -> Tuple[Path, dict]:
    """The cache folder of ``path`` (built now if missing or stale) and its manifest."""
    base = cache_root()
    base.mkdir(parents=True, exist_ok=True)
    is_tar = path.is_file()
    key = _source_key(path, is_tar, _parse_size(image_size))
    out = base / f"{_slug(path)}-{key}"
    if (out / "manifest.json").exists():
        return out, json.loads((out / "manifest.json").read_text())
    with file_lock(base / f"{out.name}.lock"):
        if not (out / "manifest.json").exists():  # another process may have built it meanwhile
            tmp = base / f"{out.name}.tmp{os.getpid()}"
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir()
            try:
                build_cache(path, tmp, image_size, workers)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            shutil.rmtree(out, ignore_errors=True)
            os.replace(tmp, out)
            _drop_stale(base, out)
    return out, json.loads((out / "manifest.json").read_text())


def _drop_stale(base: Path, keep: Path) -> None:
    """Remove older caches of the same source (its files changed), so the cache does not grow forever."""
    source = json.loads((keep / "manifest.json").read_text())["source"]
    for d in base.glob(keep.name.rsplit("-", 1)[0] + "-*"):
        if d == keep or not (d / "manifest.json").exists():
            continue
        try:
            if json.loads((d / "manifest.json").read_text()).get("source") == source:
                shutil.rmtree(d, ignore_errors=True)
        except (OSError, ValueError):
            pass
