"""``nn.Playground(...)``: the Playground as a Jupyter widget (anywidget), same front end as the page.

    import nn
    pg = nn.Playground(dataset="spiral", hidden=[8, 8, 4], features=["x1", "x2", "sinx1", "sinx2"])
    pg                      # last line of a cell: the widget; press play
    pg.model                # the nn.MLP being trained, to use from Python at any time

The page's messages reach :meth:`Session.handle` through the widget's comm and the replies go
back the same way; training runs in the kernel, one short burst per picture.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .session import Session
from .settings import validate

try:
    import anywidget
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError("nn.Playground needs anywidget: pip install 'backprop-lab[viz]' (or pip install anywidget); "
                      "without it, run the standalone page with 'backprop playground'") from e

__all__ = ["Playground"]

STATIC = Path(__file__).resolve().parent / "static"


class Playground(anywidget.AnyWidget):  # type: ignore[misc]
    """The Playground widget; keyword arguments are settings (see :class:`~nn.playground.Settings`).

    ``session`` holds the run, ``model`` the network, ``settings`` the current setup.
    Settings are validated as the page's are: an unknown name or a value out of bounds
    raises :class:`~nn.playground.SettingsError`.
    """

    _esm = STATIC / "playground.js"
    _css = STATIC / "playground.css"

    def __init__(self, **settings: Any) -> None:
        session = Session(validate(settings))
        super().__init__()
        self.session = session
        self.on_msg(self._on_message)

    @property
    def model(self) -> Any:
        return self.session.model

    @property
    def settings(self) -> Any:
        return self.session.settings

    def train(self, epochs: int = 1) -> None:
        """Train ``epochs`` epochs from Python and show the result in the widget."""
        self.session.train_epochs(epochs)
        self.send(self.session.frame())

    def export_code(self) -> str:
        """The run so far as a Python script that reproduces it from the same seed."""
        return self.session.export_code()

    def _on_message(self, widget: Any, content: Any, buffers: Any) -> None:
        for reply in self.session.handle(content):
            self.send(reply)
