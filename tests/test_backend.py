"""archbench leaves the user's matplotlib backend and pyplot's figure registry alone."""
import subprocess
import sys
import textwrap


def test_train_keeps_backend_and_closes_nothing_open(tmp_path):
    # a fresh interpreter, so that no earlier test chose the backend
    code = textwrap.dedent(f"""
        import matplotlib
        matplotlib.use("svg")
        import matplotlib.pyplot as plt
        from archbench import TrainConfig, train_model
        res = train_model(TrainConfig(model="mlp", data="digits", epochs=1, threads=1, progress="none",
                                      device="cpu", out={str(tmp_path / "run")!r}))
        import pathlib
        figs = sorted(p.name for p in pathlib.Path(res.run_dir).glob("*.png"))
        assert figs, "the run drew no figure"
        print(matplotlib.get_backend(), len(plt.get_fignums()), figs)
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    backend, open_figs, _ = res.stdout.split(" ", 2)
    assert backend == "svg" and open_figs == "0"
