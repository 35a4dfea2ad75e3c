"""Evaluation: dataset audits and chance-aware cross-validation reports."""

from ._audit import AuditReport, Finding, audit

__all__ = ["AuditReport", "Finding", "audit"]
