"""Modules loaded on first use, so a command pays only for the libraries it needs.

``pln fetch`` never renders a page or sends an email, yet importing app.py imported Jinja2,
css-inline and the site builder. A module named here is created empty and executed the first
time one of its attributes is read (`importlib.util.LazyLoader`); a name imported under
``TYPE_CHECKING`` beside it keeps mypy's view of the real module:

    if TYPE_CHECKING:
        from aggregator import mail as mail_module
    else:
        mail_module = lazy.module("aggregator.mail")
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

__all__ = ["module"]


def module(name: str) -> ModuleType:
    """The module ``name``: the loaded one if it is loaded, else one that loads when used."""
    loaded = sys.modules.get(name)
    if loaded is not None:
        return loaded
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"no module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    lazy = importlib.util.module_from_spec(spec)
    sys.modules[name] = lazy
    loader.exec_module(lazy)
    # `from aggregator import mail` elsewhere must find this same module object.
    parent, _, child = name.rpartition(".")
    if parent and parent in sys.modules:
        setattr(sys.modules[parent], child, lazy)
    return lazy
