"""``vaekit serve``: a local web page to explore a trained model (optional extra: serve).

:class:`Explorer` answers the page's questions from the saved model; :func:`make_app` (in
``app``, which needs Starlette) wraps it as a web application.
"""

from __future__ import annotations

from .explorer import BadRequest, Explorer

__all__ = ["BadRequest", "Explorer"]
