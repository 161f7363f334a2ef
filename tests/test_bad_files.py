"""Bad files in every loader (csv:, ucr:, folder:): one line naming the file (and line where known),
exit != 0, no traceback, and nothing written as if the run had worked."""
import contextlib
import io

from archbench.cli import main

TS = "@problemName x\n@timeStamps false\n@univariate true\n@classLabel true 0 1\n@data\n"
GOOD_TS = TS + "1,2,3:0\n" * 6 + "1,2,3:1\n" * 6


def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.write_bytes if isinstance(data, bytes) else path.write_text)(data)
    return path


def image_folder(root):
    from PIL import Image

    for split in ("train", "test"):
        for c in ("a", "b"):
            (root / split / c).mkdir(parents=True)
            for i in range(3):
                Image.new("RGB", (8, 8), (40 * i, 0, 0)).save(root / split / c / f"{i}.png")
    return root


def cases(tmp):
    """(name, model, data argument, text the error must contain)."""
    out = []
    out.append(("csv-empty", "lstm", f"csv:{write(tmp / 'empty.csv', '')}", "empty.csv is empty"))
    out.append(("csv-binary", "lstm", f"csv:{write(tmp / 'bin.csv', bytes(range(128, 256)) * 2)}",
                "bin.csv is not UTF-8"))
    write(tmp / "A_TEST.ts", GOOD_TS)
    out.append(("ucr-truncated", "lstm", f"ucr:{write(tmp / 'A_TRAIN.ts', TS[:40])}", "A_TRAIN.ts: no @data"))
    write(tmp / "B_TRAIN.ts", GOOD_TS)
    write(tmp / "B_TEST.ts", TS + "1,2,3:0\n1,2\n")
    out.append(("ucr-label-missing", "lstm", f"ucr:{tmp / 'B_TRAIN.ts'}", "B_TEST.ts:7: no class label"))
    write(tmp / "C_TRAIN.ts", GOOD_TS)
    write(tmp / "C_TEST.ts", TS + "1,2,3:7\n")
    out.append(("ucr-unknown-label", "lstm", f"ucr:{tmp / 'C_TRAIN.ts'}", "C_TEST.ts:6: class label '7'"))
    write(tmp / "D_TEST.ts", GOOD_TS)
    binary = write(tmp / "D_TRAIN.ts", b"\xff\xfe" + bytes(range(256)))
    out.append(("ucr-encoding", "lstm", f"ucr:{binary}", "D_TRAIN.ts:1"))
    write(tmp / "E_TEST.ts", GOOD_TS)
    words = write(tmp / "E_TRAIN.ts", TS + "1,x,3:0\n")
    out.append(("ucr-not-numbers", "lstm", f"ucr:{words}", "E_TRAIN.ts:6: a value is not a number"))
    f = image_folder(tmp / "imgs")
    write(f / "train" / "a" / "bad.png", b"\x89PNG\r\n\x1a\n" + b"x" * 20)
    out.append(("folder-truncated", "cnn", f"folder:{f}", "imgs/train/a/bad.png"))
    g = image_folder(tmp / "imgs2")
    write(g / "test" / "b" / "empty.png", b"")
    out.append(("folder-empty-file", "cnn", f"folder:{g}", "imgs2/test/b/empty.png"))
    (tmp / "imgs3" / "train").mkdir(parents=True)
    out.append(("folder-no-labels", "cnn", f"folder:{tmp / 'imgs3'}", "imgs3 is not an image folder"))
    return out


def test_every_bad_file_is_one_line_naming_it(tmp_path):
    failures = []
    for name, model, data, want in cases(tmp_path / "files"):
        out = tmp_path / f"out-{name}"
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = main(["train", model, "--data", data, "--epochs", "1", "--threads", "1", "--progress", "none",
                         "--out", str(out)])
        lines = [line for line in err.getvalue().splitlines() if line.strip()]
        written = sorted(p.name for p in out.iterdir()) if out.exists() else []
        if code == 0 or len(lines) != 1 or want not in lines[0] or "Traceback" in err.getvalue():
            failures.append(f"{name}: exit {code}, stderr {lines}")
        if set(written) - {".archbench.lock"}:
            failures.append(f"{name}: wrote {written}")
    assert not failures, "\n".join(failures)
