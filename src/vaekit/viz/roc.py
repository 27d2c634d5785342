"""ROC curves of anomaly scores, one line per score, as a PNG (matplotlib, no pyplot)."""

from __future__ import annotations

import os

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.metrics import roc_auc_score, roc_curve


def save_roc(scores: dict[str, np.ndarray], labels: np.ndarray, path: str | os.PathLike,
             title: str = "Anomaly scores") -> None:  # fmt: skip
    """Each score's ROC curve against ``labels`` (1 = anomaly), its AUROC in the legend."""
    fig = Figure(figsize=(5.5, 5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for name, s in scores.items():
        fpr, tpr, _ = roc_curve(labels, s)
        ax.plot(fpr, tpr, label=f"{name} (AUROC {roc_auc_score(labels, s):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    ax.set(xlabel="false-positive rate (normal examples flagged)",
           ylabel="true-positive rate (anomalies flagged)", xlim=(0, 1), ylim=(0, 1.01),
           title=title)  # fmt: skip
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
