"""Taking a trained model elsewhere: ONNX files of its encoder, decoder and score, verified
with ONNX Runtime (``vaekit export``; needs the ``onnx`` extra)."""

from __future__ import annotations

from .graphs import DecoderGraph, EncoderGraph, ScoreGraph
from .onnx import PARTS, export_onnx, require_onnx

__all__ = ["PARTS", "DecoderGraph", "EncoderGraph", "ScoreGraph", "export_onnx", "require_onnx"]
