"""Evaluation: dataset audits and chance-aware cross-validation reports."""

from ._audit import AuditReport, Finding, audit
from ._choose import ModelChoice, choose_model, model_candidates
from ._evaluate import EvaluationResult, cv_splitter, evaluate
from ._report import write_report

__all__ = ["AuditReport", "EvaluationResult", "Finding", "ModelChoice", "audit",
           "choose_model", "cv_splitter", "evaluate", "model_candidates", "write_report"]
