"""Progress bars that suit where archbench runs: a terminal, a notebook, or a log file.

A terminal gets a text bar; Jupyter gets a notebook bar (``tqdm.auto``, one widget updated in place,
removed when the epoch ends; it needs ipywidgets: ``pip install 'archbench[notebook]'``); anything else (a log file, CI) gets no bar, only one line per epoch,
so logs are not flooded with carriage-return frames.
"""
from __future__ import annotations

import sys

from tqdm.auto import tqdm


def in_notebook() -> bool:
    """True inside a Jupyter kernel (an IPython shell that talks to a notebook front end)."""
    ipython = sys.modules.get("IPython")  # never imported here: a script without IPython is not a notebook
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except AttributeError:
        return False
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def has_widgets() -> bool:
    """Notebook bars are ipywidgets; without them tqdm.auto falls back to text frames that a notebook
    keeps one after another (and warns), so then there is no bar, only the per-epoch lines."""
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def bar_wanted() -> bool:
    """Whether an "auto" progress setting shows a bar here."""
    return sys.stderr.isatty() or (in_notebook() and has_widgets())


def progress_bar(**kwargs):
    """A ``tqdm.auto`` bar (a notebook widget in Jupyter, text on a terminal); kwargs as for tqdm."""

    return tqdm(**kwargs)


__all__ = ["in_notebook", "bar_wanted", "progress_bar"]
