"""Network families behind one registry: ``mlp`` and ``linear`` today (one file a family)."""

from __future__ import annotations

from . import mlp as _mlp  # noqa: F401  (registers its families)
from .base import ACTIVATIONS, NETWORKS, NetworkFamily, build_networks
from .mlp import mlp

__all__ = ["ACTIVATIONS", "NETWORKS", "NetworkFamily", "build_networks", "mlp"]
