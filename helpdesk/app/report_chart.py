"""The report as a chart: weekly volume, the backlog by status and SLA compliance per clock,
three panels in one PNG.

Drawn with matplotlib's object-oriented API on the Agg canvas: no display, no pyplot and its
global state, so it runs headless in a worker thread as well as in the CLI.
"""

from __future__ import annotations

import io
from datetime import timedelta

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from helpdesk.domain.report import Figures, Report
from helpdesk.domain.report_period import team_zone
from helpdesk.domain.report_text import percent
from helpdesk.domain.timers.sla import Clock

TITLES = ("Tickets created per week", "Backlog by status", "SLA met per clock")


def png(report: Report) -> bytes:
    buffer = io.BytesIO()
    FigureCanvasAgg(figure(report)).print_figure(buffer, format="png")
    return buffer.getvalue()


def figure(report: Report) -> Figure:
    """The three panels, top to bottom, titled as ``TITLES``."""
    drawn = Figure(figsize=(8, 10), layout="constrained")
    zone = team_zone(report.calendar)
    first = report.period.since.astimezone(zone)
    last = (report.period.until - timedelta(microseconds=1)).astimezone(zone)  # until: not in
    drawn.suptitle(f"Support report, {first:%Y-%m-%d} to {last:%Y-%m-%d} ({zone})")
    volume, backlog, sla = drawn.subplots(3, 1)
    figures = report.overall
    _volume(volume, figures)
    _backlog(backlog, figures)
    _sla(sla, figures)
    for axes, title in zip((volume, backlog, sla), TITLES, strict=True):
        axes.set_title(title)
    return drawn


def _volume(axes: Axes, figures: Figures) -> None:
    weeks = list(figures.volume)
    axes.bar(weeks, list(figures.volume.values()), color="tab:blue")
    _counts(axes)
    if len(weeks) > 8:
        axes.tick_params(axis="x", labelrotation=45)


def _backlog(axes: Axes, figures: Figures) -> None:
    labels = [status.value.replace("_", " ") for status in figures.backlog]
    axes.bar(labels, list(figures.backlog.values()), color="tab:orange")
    _counts(axes)


def _counts(axes: Axes) -> None:
    axes.set_ylabel("tickets")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))


def _sla(axes: Axes, figures: Figures) -> None:
    found = [figures.sla[clock] for clock in Clock]
    shares = [100 * (c.share or 0) for c in found]
    bars = axes.bar([clock.label for clock in Clock], shares, color="tab:green")
    notes = [f"{percent(c.share)} ({c.met} of {c.total})" if c.total else "none" for c in found]
    axes.bar_label(bars, notes)
    axes.set_ylim(0, 110)
    axes.set_ylabel("% met")
