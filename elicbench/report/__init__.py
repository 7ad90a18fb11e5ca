"""Reports on run directories: BD tables (Markdown, CSV, HTML), RD/timing plots, visual crops.

matplotlib is imported only when a figure is made, pandas when a report is built.
"""
from .build import Report, build_report
from .table import ReportInputError

__all__ = ["Report", "ReportInputError", "build_report"]
