"""Reports a lender reads: exploratory analysis, model evaluation with fairness slices.

Each report is one self-contained HTML file (figures embedded as base64 PNG,
inline CSS, nothing remote), its figures as PNG files in ``<stem>_figures/``
and its numbers in ``<stem>.json``. Needs the ``[train]`` extra (matplotlib,
pandas, scikit-learn).
"""

from .eda import write_eda_report as write_eda_report
from .evaluation import evaluate as evaluate, write_model_report as write_model_report
from .slices import slice_table as slice_table
from .sources import UCI_TAIWAN as UCI_TAIWAN, DataSource as DataSource

__all__ = ["DataSource", "UCI_TAIWAN", "evaluate", "slice_table", "write_eda_report", "write_model_report"]
