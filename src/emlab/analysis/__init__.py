"""Analysis: P(misaligned) with confidence intervals from judged samples, tables and plots."""

from emlab.analysis._metrics import (
    ALL,
    RESULT_KEYS,
    CellResult,
    bootstrap_interval,
    headline_cells,
    is_overall,
    missing_scores,
    model_cells,
    p_misaligned,
    question_families,
    select_questions,
    wilson_interval,
)
from emlab.analysis._output import (
    RESULT_KIND,
    result_settings,
    results_table,
    store_results,
    write_csv,
    write_json,
)
from emlab.analysis._plot import plot_p_misaligned, plot_paths
from emlab.analysis._samples import judged_samples, pick_judge, read_samples_csv
from emlab.analysis._sensitivity import (
    SENSITIVITY_KIND,
    parse_thresholds,
    plot_sensitivity,
    sensitivity_grid,
    sensitivity_table,
)
from emlab.analysis.config import AnalysisConfig

__all__ = [
    "ALL",
    "RESULT_KEYS",
    "RESULT_KIND",
    "SENSITIVITY_KIND",
    "AnalysisConfig",
    "CellResult",
    "bootstrap_interval",
    "headline_cells",
    "is_overall",
    "judged_samples",
    "missing_scores",
    "model_cells",
    "p_misaligned",
    "parse_thresholds",
    "pick_judge",
    "plot_p_misaligned",
    "plot_paths",
    "plot_sensitivity",
    "question_families",
    "read_samples_csv",
    "result_settings",
    "results_table",
    "select_questions",
    "sensitivity_grid",
    "sensitivity_table",
    "store_results",
    "wilson_interval",
    "write_csv",
    "write_json",
]
