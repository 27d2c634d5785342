"""An interrupted `vaekit evaluate` continues where it stopped, with the same numbers (IS-5000
of a conv model takes hours on a CPU)."""

from __future__ import annotations

import json

import vaekit
import vaekit.inference.importance as importance
from tests.cli_runner import run_cli


def _counting(monkeypatch, fail_at=None):
    calls = []
    real = importance.log_likelihood_batch

    def counted(*args, **kwargs):
        calls.append(1)
        if len(calls) == fail_at:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(importance, "log_likelihood_batch", counted)
    return calls


def _claim_seconds(path, seconds: float | str) -> None:
    """Rewrite a progress file as if its earlier sittings had taken ``seconds``."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    with safe_open(path, "pt") as f:
        meta = f.metadata()
    save_file(load_file(path), path, metadata=meta | {"seconds": str(seconds)})


def test_an_interrupted_evaluation_continues_to_the_same_numbers(tmp_path, capsys, monkeypatch):
    run = tmp_path / "r"
    vaekit.train(epochs=2, hidden="16", latent_dim=2, out=run, quiet=True)
    args = ["evaluate", run, "-k", "30", "--repeats", "2", "--json", "--quiet"]
    calls = _counting(monkeypatch)
    code, out, _ = run_cli(args, capsys)
    whole = json.loads(out)
    batches = len(calls)  # 2 repeats of the test split's 360 examples in batches of 100
    assert code == 0 and batches == 8 and not list(run.glob("evaluate-progress-*"))

    calls = _counting(monkeypatch, fail_at=6)  # in the second repeat's second batch
    code, _, err = run_cli(args, capsys)
    assert code == 130 and "rerun the same command to continue" in err
    assert len(list(run.glob("evaluate-progress-*.safetensors"))) == 1

    _claim_seconds(next(run.glob("evaluate-progress-*.safetensors")), 1000.0)
    calls = _counting(monkeypatch)
    code, out, err = run_cli(args, capsys)
    assert code == 0 and "continuing an interrupted evaluation" in err
    assert len(calls) == batches - 5  # only what was not done
    resumed = json.loads(out)
    assert 1000.0 < resumed["seconds"] < 1000.0 + 5 * whole["seconds"]  # both sittings' time
    for key in ("log_likelihood", "log_likelihood_repeats", "elbo", "log_likelihood_stderr"):
        assert resumed[key] == whole[key], key  # the very draws, not just close
    assert not list(run.glob("evaluate-progress-*"))  # finished: gone


def test_progress_of_other_settings_is_not_used(tmp_path, capsys, monkeypatch):
    run = tmp_path / "r"
    vaekit.train(epochs=1, hidden="8", latent_dim=2, out=run, quiet=True)
    _counting(monkeypatch, fail_at=2)
    assert run_cli(["evaluate", run, "-k", "20", "--quiet"], capsys)[0] == 130
    calls = _counting(monkeypatch)
    code, _, err = run_cli(["evaluate", run, "-k", "21", "--quiet"], capsys)
    assert code == 0 and "continuing" not in err and len(calls) == 4  # all of its batches
    assert len(list(run.glob("evaluate-progress-*"))) == 1  # the k=20 one, still resumable


def test_a_damaged_or_foreign_progress_file_starts_afresh(tmp_path):
    import torch

    from vaekit.inference.progress import Progress

    path = tmp_path / "p.safetensors"
    p = Progress(path, "key-a", every=0.0)
    p.record(0, torch.arange(3.0), torch.zeros(5, dtype=torch.uint8))  # every=0: saved now
    again = Progress(path, "key-a")
    assert again.resume(0)[0].tolist() == [0.0, 1.0, 2.0]
    assert 0.0 < again.earlier_seconds <= again.seconds  # the first sitting's time is kept
    foreign = Progress(path, "key-b")
    assert foreign.resume(0) == (None, None) and foreign.earlier_seconds == 0.0
    path.write_bytes(b"\x00garbage")
    assert Progress(path, "key-a").resume(0) == (None, None)


def test_a_malformed_time_keeps_the_estimates(tmp_path):
    import torch

    from vaekit.inference.progress import Progress

    path = tmp_path / "p.safetensors"
    p = Progress(path, "key-a", every=0.0)
    p.record(0, torch.arange(3.0), torch.zeros(5, dtype=torch.uint8))
    for text in ("soon", "nan", "-5"):
        _claim_seconds(path, text)
        again = Progress(path, "key-a")
        assert again.resume(0)[0].tolist() == [0.0, 1.0, 2.0], text  # not lost for a time
        assert again.earlier_seconds == 0.0, text
