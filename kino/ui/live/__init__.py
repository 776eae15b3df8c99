"""Live charts and the training dashboard (Kino.VegaLite)."""

from kino.ui.live.chart import Chart, chart
from kino.ui.live.dashboard import Dashboard, dashboard

__all__ = ["Chart", "Dashboard", "chart", "dashboard"]
