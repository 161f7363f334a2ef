"""The comparison page's raw results: no empty columns, one number format, run_dir as a link."""
from archbench.report.raw_results import raw_results_section


def test_clean_raw_results(tmp_path):
    (tmp_path / "results.csv").write_text(
        "data,model,seed,run_dir,test_accuracy,params,peak_cuda_mb,epochs_run\n"
        "digits,mlp,0,runs/digits/mlp-s0,0.9415041782729805,167178,,2.0\n"
        "digits,cnn,0,runs/digits/cnn-s0,0.8357,128714,,2\n")
    html, n = raw_results_section(tmp_path)
    assert n == 7 and "peak_cuda_mb" not in html  # a column no run filled is left out
    assert '<a href="runs/digits/mlp-s0/report.html">mlp-s0</a>' in html
    assert ">0.9415<" in html and ">167,178<" in html and ">2<" in html and "2.0" not in html
    assert raw_results_section(tmp_path / "none") == ("", 0)
