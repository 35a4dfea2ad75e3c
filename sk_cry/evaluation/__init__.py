"""Evaluation: dataset audits and chance-aware cross-validation reports."""

from ._audit import AuditReport, Finding, audit
from ._evaluate import EvaluationResult, evaluate
from ._report import write_report

__all__ = ["AuditReport", "EvaluationResult", "Finding", "audit", "evaluate",
           "write_report"]
