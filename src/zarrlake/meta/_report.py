"""Validation findings and the report, shaped like zarr-utils' documented dict."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = ["Finding", "Report", "Severity"]

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Finding:
    """One problem found by a rule.

    Attributes
    ----------
    code
        Stable identifier of the rule (``ZL101``).
    severity
        ``error`` (the store is invalid), ``warning`` or ``info``.
    path
        The array, group or key at fault ("" for the root).
    message
        A readable sentence naming the thing at fault.
    fix
        What to do, or ``None``.
    """

    code: str
    severity: Severity
    path: str
    message: str
    fix: str | None = None

    def __str__(self) -> str:
        fix = f" (fix: {self.fix})" if self.fix else ""
        return f"{self.severity}: {self.message}{fix}"

    def to_dict(self) -> dict[str, Any]:
        """Return the finding as a plain dict."""
        return asdict(self)


class Report(dict[str, Any]):
    """A validation report: a dict with the documented keys, plus attribute access.

    Keys: ``valid``, ``has_consolidated``, ``consolidated_fresh``, ``zarr_format``,
    ``url``, ``issues`` (a list of :class:`Finding`), ``arrays`` (path to shape,
    dtype, chunks, compression, issues) and ``groups`` (path, ``/`` for the root, to
    attrs and issues). ``valid`` is false only when a finding is an error.
    """

    @property
    def valid(self) -> bool:
        """Whether no finding is an error."""
        return bool(self["valid"])

    @property
    def issues(self) -> list[Finding]:
        """Every finding."""
        return list(self["issues"])

    def errors(self) -> list[Finding]:
        """Return the findings of severity error."""
        return [f for f in self["issues"] if f.severity == "error"]

    def codes(self) -> set[str]:
        """Return the codes of every finding."""
        return {f.code for f in self["issues"]}

    def to_json_dict(self) -> dict[str, Any]:
        """Return the report with findings as plain dicts (for JSON output)."""

        def convert(value: Any) -> Any:
            if isinstance(value, Finding):
                return value.to_dict()
            if isinstance(value, dict):
                return {k: convert(v) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return [convert(v) for v in value]
            return value

        return {k: convert(v) for k, v in self.items()}
