"""RunLogger: metrics.jsonl, TensorBoard scalars and the terminal (progress bar or plain lines)."""

from __future__ import annotations

import json
import math
import re
import time

from tensorboard.backend.event_processing import event_accumulator

from gan_jax.logger import RunLogger


def test_plain_lines_when_stdout_is_not_a_terminal(tmp_path, capsys):
    with RunLogger(tmp_path, 10) as log:  # pytest's captured stdout is not a tty
        log.log_train(5, {"d/loss": 0.25, "g/loss": -1.0, "d/grad_norm": 3.0}, 20.0)
        log.message("hello")
    out = capsys.readouterr().out
    assert "step      5/10" in out and "d/loss +0.2500" in out and "ETA 0m00s" in out
    assert "d/grad_norm" not in out  # only losses on the terminal
    assert "hello" in out
    record = json.loads((tmp_path / "metrics.jsonl").read_text())
    assert record == {
        "step": 5,
        "d/loss": 0.25,
        "g/loss": -1.0,
        "d/grad_norm": 3.0,
        "steps_per_sec": 20.0,
    }


def test_progress_bar_replaces_the_lines(tmp_path, capsys):
    with RunLogger(tmp_path, 10, progress_bar=True, tensorboard=False) as log:
        log.advance(4)
        log.log_train(4, {"d/loss": 0.5}, 10.0)
        log.message("an eval line")
    out = capsys.readouterr().out
    assert "4/10" in out and "an eval line" in out
    assert "ETA" not in out  # no plain step lines under a bar
    assert (tmp_path / "metrics.jsonl").is_file()


def test_eval_records_keep_the_protocol_and_skip_non_finite_scalars(tmp_path):
    with RunLogger(tmp_path, 10) as log:
        log.log_eval(10, {"modes": 0, "reverse_kl": math.inf, "protocol": {"fake_samples": 5}})
    record = json.loads((tmp_path / "metrics.jsonl").read_text())
    assert record["eval/protocol"] == {"fake_samples": 5}
    assert record["eval/reverse_kl"] == math.inf
    acc = event_accumulator.EventAccumulator(str(tmp_path / "tensorboard"))
    acc.Reload()
    assert acc.Tags()["scalars"] == ["eval/modes"]


def test_inactive_logger_writes_nothing(tmp_path, capsys):
    with RunLogger(tmp_path, 10, active=False) as log:
        log.log_train(1, {"d/loss": 1.0}, 1.0)
        log.log_eval(1, {"modes": 3})
        log.message("quiet")
    assert list(tmp_path.iterdir()) == []
    assert capsys.readouterr().out == ""


def test_an_unknown_rate_is_null_in_the_jsonl_and_left_off_the_line(tmp_path, capsys):
    """A run that is one dispatch logs its only step right after compiling: no rate yet."""
    with RunLogger(tmp_path, 50) as log:
        log.log_train(50, {"d/loss": 0.5, "g/loss": 1.0}, math.nan)
    out = capsys.readouterr().out
    assert "step     50/50  d/loss +0.5000  g/loss +1.0000" in out
    assert "nan" not in out.lower() and "steps/s" not in out
    text = (tmp_path / "metrics.jsonl").read_text()
    assert "NaN" not in text
    assert json.loads(text)["steps_per_sec"] is None


def test_progress_bar_comes_after_the_header_and_its_eta_leaves_out_compilation(tmp_path, capsys):
    with RunLogger(tmp_path, 10000, progress_bar=True, tensorboard=False) as log:
        log.message("the header line")
        assert capsys.readouterr().out == "the header line\n"  # no bar drawn yet
        time.sleep(0.3)  # compiling the first dispatch
        log.advance(1)
        first = capsys.readouterr().out
        time.sleep(0.15)  # tqdm redraws at most every 0.1 s
        log.advance(1000)
        second = capsys.readouterr().out
    # Counting the compilation, the ETA would be 9999 * 0.3 s, 50 minutes.
    assert re.search(r"1/10000 \[00:00<\?", first), first
    eta = re.findall(r"1001/10000 \[00:00<(\d\d:\d\d)\b", second)
    assert eta and eta[0] < "00:10", second


def test_progress_bar_rate_leaves_out_evaluations(tmp_path, capsys):
    with RunLogger(tmp_path, 10000, progress_bar=True, tensorboard=False) as log:
        log.advance(1)
        time.sleep(0.15)
        log.advance(1000)
        time.sleep(1.0)  # an evaluation
        log.log_eval(1001, {"modes": 3})
        capsys.readouterr()
        time.sleep(0.15)
        log.advance(1000)
        out = capsys.readouterr().out
    # 1000 steps per 0.15 s: ETA 1 s; counting the evaluation, tqdm's smoothed rate would give 6 s.
    eta = re.findall(r"2001/10000 \[00:0\d<(\d\d:\d\d)\b", out)
    assert eta and eta[0] <= "00:03", out
