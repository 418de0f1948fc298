"""Screening engines: text (trademarks, offensive terms), images (protected logos), fonts, OCR.

Pure: imports nothing from the vault, retention or api packages, and does no database or web I/O.
"""

from screening.findings import Finding, FindingKind, Severity, Verdict, VerdictKind
from screening.screener import NullScreener, Screener

__all__ = ["Finding", "FindingKind", "NullScreener", "Screener", "Severity", "Verdict", "VerdictKind"]
