"""Network families behind one registry: ``mlp``, ``linear``, ``conv`` and ``resnet`` (one
file a family; ``images`` holds what the convolutional ones share)."""

from __future__ import annotations

from . import conv as _conv  # noqa: F401  (each registers its families)
from . import mlp as _mlp  # noqa: F401
from . import resnet as _resnet  # noqa: F401
from .base import ACTIVATIONS, NETWORKS, NetworkFamily, build_networks, widest_activation
from .mlp import mlp
from .resnet import NORMS

__all__ = [
    "ACTIVATIONS",
    "NETWORKS",
    "NORMS",
    "NetworkFamily",
    "build_networks",
    "mlp",
    "widest_activation",
]
