"""Layer 9: notebook widgets (anywidget). Needs the ``widgets`` extra:
``pip install "nbreactive[widgets]"`` (anywidget + ipywidgets)."""

from nbreactive.widgets.live import LiveWidget

__all__ = ["LiveWidget"]
