"""--tensorboard: scalars equal to metrics.jsonl, one event per epoch even across a resume after
a process that wrote past its checkpoint; the CSV fallback without the package."""

from __future__ import annotations

import csv
import json

import pytest

import vaekit
from tests.missing import hide_package

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402


def _metrics(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_tensorboard_events_match_the_metrics_across_a_resume(tmp_path):
    out = tmp_path / "r"
    vaekit.train(data="digits", epochs=3, hidden="8", latent_dim=2, out=out, quiet=True,
                 tensorboard=True)  # fmt: skip
    # a process killed after logging epoch 4 but before its checkpoint: its event must go
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(out / "tensorboard")) as w:
        w.add_scalar("valid/elbo", 999.0, 4)
    vaekit.train(out=out, resume=True, epochs=5, quiet=True, tensorboard=True)
    acc = EventAccumulator(str(out / "tensorboard"), size_guidance={"images": 0}).Reload()
    rows = _metrics(out)
    for key, tag in (("valid_elbo", "valid/elbo"), ("train_loss", "train/loss"),
                     ("valid_kl", "valid/kl"), ("lr", "schedule/lr")):  # fmt: skip
        events = acc.Scalars(tag)
        assert [e.step for e in events] == [1, 2, 3, 4, 5], tag
        assert [e.value for e in events] == pytest.approx([r[key] for r in rows], rel=1e-6)
    images = acc.Images("samples")
    assert [e.step for e in images] == [1, 2, 3, 4, 5] and images[0].width > 0
    assert [e.step for e in acc.Images("reconstructions")] == [1, 2, 3, 4, 5]


def test_without_tensorboard_a_csv_and_pictures(tmp_path, monkeypatch, capsys):
    hide_package(monkeypatch, "tensorboard")
    out = tmp_path / "r"
    vaekit.train(data="digits", epochs=2, hidden="8", latent_dim=2, out=out, quiet=True,
                 tensorboard=True)  # fmt: skip
    vaekit.train(out=out, resume=True, epochs=3, quiet=True, tensorboard=True)
    assert "tensorboard package is not installed" in capsys.readouterr().err
    with (out / "tensorboard" / "scalars.csv").open() as f:
        table = list(csv.DictReader(f))
    rows = _metrics(out)
    assert [int(r["epoch"]) for r in table] == [1, 2, 3]  # no epoch twice
    assert [float(r["valid_elbo"]) for r in table] == pytest.approx([r["valid_elbo"] for r in rows])
    assert (out / "tensorboard" / "samples-epoch0003.png").exists()
