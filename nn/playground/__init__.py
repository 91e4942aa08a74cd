"""The Playground: TensorFlow Playground's experience on this engine, in Jupyter or the browser.

    import nn
    nn.Playground()                 # in a notebook: the widget (needs anywidget, the [viz] extra)

    $ backprop playground           # standalone: a local page with a token, Ctrl-C to stop

One front end (``static/playground.js``, an ES module with no dependencies) drawn in two
hosts. Training, validation of every setting and all numbers live in Python
(:class:`~nn.playground.session.Session`); the page only draws what it is sent.
"""

from __future__ import annotations

from typing import Any

from .session import Session
from .settings import Settings, SettingsError

__all__ = ["Playground", "Session", "Settings", "SettingsError", "PlaygroundServer", "serve"]


def __getattr__(name: str) -> Any:
    if name == "Playground":
        from .widget import Playground

        return Playground
    if name in ("PlaygroundServer", "serve"):
        from . import server

        return getattr(server, name)
    raise AttributeError(f"module 'nn.playground' has no attribute {name!r}")
