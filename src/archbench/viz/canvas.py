"""Figures without pyplot: archbench never switches the user's matplotlib backend.

``matplotlib.use("Agg")`` would change the backend of the user's whole process (in Jupyter the next
``plt.show()`` draws nothing), and pyplot figures stay registered until closed. The few pyplot calls
archbench made are here on plain :class:`matplotlib.figure.Figure` objects given an Agg canvas: they
render exactly as pyplot figures under the Agg backend and are freed when dropped.

    from .canvas import plt      # plt.subplots / plt.figure / plt.close / plt.cm, as before
"""
from __future__ import annotations

from types import SimpleNamespace

import matplotlib.cm
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def figure(**fig_kw):
    """A Figure (figsize, dpi, layout, ... as for ``pyplot.figure``) on its own Agg canvas."""
    fig = Figure(**fig_kw)
    FigureCanvasAgg(fig)  # the canvas pyplot's Agg backend would give it; the backend is untouched
    return fig


def subplots(nrows: int = 1, ncols: int = 1, *, sharex=False, sharey=False, squeeze: bool = True,
             width_ratios=None, height_ratios=None, subplot_kw=None, gridspec_kw=None, **fig_kw):
    """``pyplot.subplots`` without pyplot: (figure, axes) with the same arguments."""
    fig = figure(**fig_kw)
    axes = fig.subplots(nrows, ncols, sharex=sharex, sharey=sharey, squeeze=squeeze, width_ratios=width_ratios,
                        height_ratios=height_ratios, subplot_kw=subplot_kw, gridspec_kw=gridspec_kw)
    return fig, axes


def close(fig) -> None:
    """Nothing to unregister (no pyplot); kept so drawing code reads as before."""


plt = SimpleNamespace(figure=figure, subplots=subplots, close=close, cm=matplotlib.cm)

__all__ = ["figure", "subplots", "close", "plt"]
