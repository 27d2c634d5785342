"""Issue 14's acceptance scenario: scikit-learn's breast-cancer data as a CSV (columns from
0.005 to 4254) with default settings trains as well as the hand-standardised file, and
reconstructs its largest column within 10% median relative error."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_breast_cancer

import vaekit
from vaekit.data.transform import Transform


@pytest.mark.slow
def test_breast_cancer_csv_with_default_settings(tmp_path):
    d = load_breast_cancer()
    header = ",".join(n.replace(" ", "_") for n in d.feature_names)
    raw, by_hand = tmp_path / "bc.csv", tmp_path / "bc_standardised.csv"
    np.savetxt(raw, d.data, delimiter=",", header=header, comments="")
    np.savetxt(by_hand, (d.data - d.data.mean(0)) / d.data.std(0), delimiter=",", header=header,
               comments="")  # fmt: skip
    runs = {p.name: vaekit.train(data=str(p), out=tmp_path / p.stem, quiet=True)
            for p in (raw, by_hand)}  # fmt: skip
    mine, theirs = runs["bc.csv"], runs["bc_standardised.csv"]
    assert mine.config.data.transform["kind"] == "standardize"  # chosen from the data
    assert theirs.config.data.transform is None  # already on one scale: left alone
    assert abs(mine.summary["best_valid_score"] - theirs.summary["best_valid_score"]) <= 2.0
    ds = vaekit.load_dataset(mine.config.data)  # the model's units
    t = Transform.from_dict(mine.config.data.transform)
    truth = t.invert(ds.test)
    recon = t.invert(mine.model.reconstruct(torch.from_numpy(ds.test)).numpy())
    col = int(np.argmax(d.data.max(0)))  # "worst area", up to 4254
    rel = np.abs(recon[:, col] - truth[:, col]) / np.abs(truth[:, col])
    assert np.median(rel) <= 0.10, np.median(rel)
