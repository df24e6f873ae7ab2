"""Claim checks: every lesson a chapter asserts, with its figure, its threshold and a control.

A chapter states a claim of the text as a number and a threshold, and checks it with ``claim``:

    claim("nonlinear-beats-pca", "At k = 12 the nonlinear AE's test error is below 75% of PCA's.",
          figure=err_nonlinear / err_pca, op="<", threshold=0.75,
          control=err_linear / err_pca, control_label="the linear AE, which cannot beat PCA")

A claim passes when ``figure op threshold`` holds. Its **control** is the same figure measured
on a model, setting or baseline for which the claim should be false; the control must *fail* the
same comparison, which shows that the check can fail at all. Where no meaningful control exists,
``no_control`` says why instead. A check that fails, or a control that passes, raises an
``AssertionError`` that names the claim and gives every number.

Each call also appends its record (a ``Claim``) to ``RECORDED``, and, when the environment
variable ``AEBOOK_RECORD`` names a file, writes it there as one JSON line: that is how
``benchmarks/run_chapters.py`` collects exactly what the chapters asserted. ``measure`` records a
figure that is not a claim (e.g. one the Reproductions page compares with a paper) the same way.
In a notebook, both also *glue* their figures (myst-nb's glue, without importing myst-nb, which
Colab lacks): the chapter's prose can quote a figure as ``{glue:text}`key:.2f` `` and a claim's
control as ``key-control``, so a number in the text is the number the run measured.
"""
from __future__ import annotations

import json
import math
import os
import re
from dataclasses import asdict, dataclass

from .scale import current_scale
from .training import current_seed

OPS = {"<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__}
KEY = re.compile(r"[a-z0-9][a-z0-9-]*\Z")


@dataclass(frozen=True)
class Claim:
    """One checked claim: what was measured, against what, and with which control."""
    key: str
    statement: str
    figure: float
    op: str
    threshold: float
    control: float | None
    control_label: str | None
    no_control: str | None
    scale: str
    seed: int | None
    passed: bool
    control_passed: bool | None

    def describe(self) -> str:
        """'key: figure 0.42 < 0.75 (passes); control (label) 1.00 (fails, as it should)'."""
        text = (f"{self.key}: {self.figure:.4g} {self.op} {self.threshold:g} "
                f"({'holds' if self.passed else 'FAILS'})")
        if self.control is not None:
            text += (f"; control, {self.control_label}: {self.control:.4g} "
                     f"({'also holds: the check cannot tell them apart' if self.control_passed else 'fails, as it should'})")
        else:
            text += f"; no control: {self.no_control}"
        return text


RECORDED: list[dict] = []


def _number(name: str, value: object) -> float:
    """``value`` as a finite float (a 0-d tensor or numpy scalar is fine), else a TypeError/ValueError."""
    if isinstance(value, bool) or not hasattr(value, "__float__"):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    shape = getattr(value, "shape", ())
    if shape not in ((), None) and tuple(shape) != ():
        raise TypeError(f"{name} must be a scalar, got shape {tuple(shape)}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {number}")
    return number


GLUE_PREFIX = "application/papermill.record/"  # myst-nb's mime prefix for glued, undisplayed values


def glue(name: str, value: float) -> None:
    """Store ``value`` in the notebook's output for myst-nb's ``{glue:text}`name` `` role, shown
    nowhere else; does nothing outside IPython. The same output that ``myst_nb.glue(name, value,
    display=False)`` writes."""
    try:
        from IPython import get_ipython
        from IPython.core.formatters import format_display_data
        from IPython.display import display
    except ImportError:
        return
    if get_ipython() is None:
        return
    bundle, metadata = format_display_data(value)
    metadata["scrapbook"] = {"name": name, "mime_prefix": GLUE_PREFIX}
    display({GLUE_PREFIX + k: v for k, v in bundle.items()}, raw=True, metadata=metadata)


def _write(kind: str, record: dict) -> None:
    RECORDED.append({"kind": kind, **record})
    path = os.environ.get("AEBOOK_RECORD", "").strip()
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"kind": kind, **record}, ensure_ascii=False) + "\n")


def claim(key: str, statement: str, *, figure: float, op: str, threshold: float,
          control: float | None = None, control_label: str | None = None,
          no_control: str | None = None) -> Claim:
    """Check that ``figure op threshold`` holds and that ``control op threshold`` does not.

    key: a short unique name within the chapter (lower case, digits, dashes), e.g. "dae-score-cosine".
    statement: the claim in one sentence, as the Claims page shows it.
    figure, threshold: finite real numbers; op: one of "<", "<=", ">", ">=".
    control, control_label: the same figure for the control, and what the control is. Or
    no_control: why this claim has no meaningful control. Exactly one of the two is required.
    Records the claim (``RECORDED``, and ``$AEBOOK_RECORD`` if set), prints one line, and returns
    the ``Claim``. Raises AssertionError when the figure fails or the control passes.
    """
    if not isinstance(key, str) or not KEY.match(key):
        raise ValueError(f"key must be lower-case letters, digits and dashes, got {key!r}")
    if not isinstance(statement, str) or not statement.strip():
        raise ValueError("statement must be a non-empty sentence")
    if op not in OPS:
        raise ValueError(f"op must be one of {sorted(OPS)}, got {op!r}")
    figure, threshold = _number("figure", figure), _number("threshold", threshold)
    if (control is None) == (no_control is None):
        raise TypeError(f"claim {key!r}: give a control (and control_label) or no_control (the reason "
                        f"there is none), exactly one of the two")
    if control is not None:
        control = _number("control", control)
        if not isinstance(control_label, str) or not control_label.strip():
            raise ValueError(f"claim {key!r}: control_label must say what the control is")
    elif not isinstance(no_control, str) or not no_control.strip():
        raise ValueError(f"claim {key!r}: no_control must give the reason there is no control")
    passed = OPS[op](figure, threshold)
    control_passed = None if control is None else OPS[op](control, threshold)
    record = Claim(key, statement.strip(), figure, op, threshold, control, control_label, no_control,
                   current_scale(), current_seed(), passed, control_passed)
    _write("claim", asdict(record))
    glue(key, figure)
    if control is not None:
        glue(f"{key}-control", control)
    print(record.describe())
    if not passed or control_passed:
        raise AssertionError(f"claim {key!r} does not hold as stated. {statement.strip()} "
                             f"Measured {record.describe()}; scale {record.scale}, seed {record.seed}.")
    return record


def measure(key: str, value: float, text: str) -> float:
    """Record a figure that is not a claim (e.g. one a paper reports too) and return it.

    key as for ``claim``; text: what the figure is, e.g. "PCA-30 test error per image".
    """
    if not isinstance(key, str) or not KEY.match(key):
        raise ValueError(f"key must be lower-case letters, digits and dashes, got {key!r}")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("text must say what the figure is")
    value = _number("value", value)
    _write("measure", {"key": key, "text": text.strip(), "value": value, "scale": current_scale(),
                       "seed": current_seed()})
    glue(key, value)
    return value
