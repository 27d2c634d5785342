"""Everyday use (issue 14): runs that work from any folder, files as the umask makes them,
a summary for stopped runs too."""

from __future__ import annotations

import json
import os
import stat

import numpy as np

import vaekit

from ..cli_runner import run_cli

RNG = np.random.default_rng(0)


def test_a_run_works_from_any_folder_and_a_moved_file_is_found_by_content(
    tmp_path, monkeypatch, capsys
):
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    work.mkdir()
    elsewhere.mkdir()
    np.save(work / "mine.npy", RNG.random((150, 6)).astype(np.float32))
    monkeypatch.chdir(work)  # a relative path, as a user types it
    args = ["train", "--data", "mine.npy", "--epochs", "1", "--hidden", "4", "--out", "run",
            "--quiet"]  # fmt: skip
    assert run_cli(args, capsys)[0] == 0
    assert json.loads((work / "run" / "config.json").read_text())["data"]["name"] == str(
        work / "mine.npy"
    )
    monkeypatch.chdir(elsewhere)
    assert run_cli(["evaluate", work / "run", "-k", "5", "--quiet"], capsys)[0] == 0
    os.rename(work / "mine.npy", elsewhere / "moved.npy")
    code, _, err = run_cli(["evaluate", work / "run", "-k", "5", "--quiet"], capsys)
    assert code == 2 and "is not there any more" in err and "--data" in err
    code, _, err = run_cli(["evaluate", work / "run", "--data", "moved.npy", "-k", "5", "--quiet"],
                        capsys)  # fmt: skip
    assert code == 0 and "note" not in err
    np.save(elsewhere / "other.npy", RNG.random((150, 6)).astype(np.float32))
    code, _, err = run_cli(["evaluate", work / "run", "--data", "other.npy", "-k", "5", "--quiet"],
                        capsys)  # fmt: skip
    assert code == 0 and "not the file this run was trained on" in err


def test_resume_finds_a_moved_file_by_content(tmp_path, monkeypatch):
    np.save(tmp_path / "mine.npy", RNG.random((150, 6)).astype(np.float32))
    from vaekit.training import loop

    real = loop.Trainer._end_epoch

    def stop_after_first(self, bar):  # a run stopped after its first epoch
        real(self, bar)
        raise loop._Stopped

    monkeypatch.setattr(loop.Trainer, "_end_epoch", stop_after_first)
    vaekit.train(data=str(tmp_path / "mine.npy"), epochs=3, hidden="4", out=tmp_path / "r",
                 quiet=True)  # fmt: skip
    monkeypatch.setattr(loop.Trainer, "_end_epoch", real)
    os.rename(tmp_path / "mine.npy", tmp_path / "moved.npy")
    run = vaekit.train(out=tmp_path / "r", resume=True, data=str(tmp_path / "moved.npy"),
                       quiet=True)  # fmt: skip
    assert run.summary["epochs_run"] == 3 and not run.interrupted


def test_files_get_the_umask_permissions_and_stopped_runs_a_summary(tmp_path, monkeypatch):
    from vaekit.training import loop

    real = loop.Trainer._end_epoch

    def stop_after_first(self, bar):
        real(self, bar)
        raise loop._Stopped

    monkeypatch.setattr(loop.Trainer, "_end_epoch", stop_after_first)
    run = vaekit.train(data="digits", epochs=3, hidden="4", latent_dim=2, out=tmp_path / "r",
                       quiet=True)  # fmt: skip
    assert run.interrupted
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["interrupted"] is True and summary["epochs_run"] == 1
    assert vaekit.load_run(tmp_path / "r").interrupted
    mask = os.umask(0o022)
    os.umask(mask)
    for name in ("config.json", "model.safetensors", "metrics.jsonl", "summary.json",
                 "checkpoint.safetensors", "samples.png"):  # fmt: skip
        mode = stat.S_IMODE((tmp_path / "r" / name).stat().st_mode)
        assert mode == 0o666 & ~mask, (name, oct(mode))
    monkeypatch.setattr(loop.Trainer, "_end_epoch", real)
    done = vaekit.train(data="digits", epochs=3, hidden="4", latent_dim=2, out=tmp_path / "r",
                        quiet=True)  # fmt: skip
    assert not done.interrupted and done.summary["epochs_run"] == 3  # the same command resumed


def test_threads_are_set_and_said_once(tmp_path, capsys):
    import torch

    before = torch.get_num_threads()
    try:
        code, _, err = run_cli(["train", "--epochs", "1", "--hidden", "4", "--latent-dim", "2",
                             "--threads", "1", "--out", tmp_path / "r"], capsys)  # fmt: skip
        assert code == 0 and err.count("1 thread(s)") == 1
        assert torch.get_num_threads() == 1
        code, _, err = run_cli(["train", "--threads", "0", "--out", tmp_path / "x"], capsys)
        assert code == 2 and "threads" in err
    finally:
        torch.set_num_threads(before)


def test_arrays_and_datasets_from_python_are_recorded_as_such(tmp_path, capsys):
    x = RNG.random((120, 5)).astype(np.float32)
    run = vaekit.train(data=x, epochs=1, hidden="4", out=tmp_path / "a", quiet=True)
    assert run.config.data.name == "memory:array" and run.config.model.input_dim == 5
    code, _, err = run_cli(["evaluate", tmp_path / "a", "-k", "5", "--quiet"], capsys)
    assert code == 2 and "given in Python" in err and "--data" in err
    np.save(tmp_path / "x.npy", x)
    code, _, _ = run_cli(["evaluate", tmp_path / "a", "--data", tmp_path / "x.npy", "-k", "5",
                       "--quiet"], capsys)  # fmt: skip
    assert code == 0
    mine = vaekit.Dataset("mine", x[:80], x[80:100], x[100:])
    run = vaekit.train(dataset=mine, epochs=1, hidden="4", out=tmp_path / "b", quiet=True)
    assert run.config.data.name == "memory:mine"  # not the default "digits"
    split = vaekit.train(data={"train": x[:100], "test": x[100:]}, epochs=1, hidden="4",
                         out=tmp_path / "c", quiet=True)  # fmt: skip
    assert split.config.data.name == "memory:array"
