"""aebook.claims: a claim passes only when its figure holds and its control fails; what it records."""
import json

import numpy as np
import pytest
import torch

from aebook import claims
from aebook.claims import claim, measure


def test_a_claim_that_holds_with_a_control_that_fails():
    c = claim("ratio", "The ratio is below one half.", figure=0.2, op="<", threshold=0.5,
              control=0.9, control_label="the baseline")
    assert c.passed and c.control_passed is False
    assert claims.RECORDED[-1]["key"] == "ratio" and claims.RECORDED[-1]["kind"] == "claim"


@pytest.mark.parametrize("op, figure, threshold", [("<", 0.5, 0.5), ("<=", 0.6, 0.5), (">", 0.5, 0.5),
                                                   (">=", 0.4, 0.5)])
def test_a_figure_on_the_wrong_side_raises(op, figure, threshold):
    with pytest.raises(AssertionError, match="does not hold"):
        claim("edge", "An edge case.", figure=figure, op=op, threshold=threshold, no_control="a test")


def test_a_control_that_also_passes_raises():
    """The point of a control: a check that its control passes too cannot tell the lesson."""
    with pytest.raises(AssertionError, match="cannot tell"):
        claim("weak", "A check too loose to fail.", figure=0.1, op="<", threshold=0.5,
              control=0.3, control_label="the mean image")


def test_a_claim_needs_exactly_one_of_control_and_reason():
    with pytest.raises(TypeError, match="control"):
        claim("none", "No control, no reason.", figure=1.0, op=">", threshold=0.0)
    with pytest.raises(TypeError, match="control"):
        claim("both", "Both.", figure=1.0, op=">", threshold=0.0, control=-1.0,
              control_label="x", no_control="y")
    with pytest.raises(ValueError, match="control_label"):
        claim("nolabel", "A control without a label.", figure=1.0, op=">", threshold=0.0, control=-1.0)
    with pytest.raises(ValueError, match="no_control"):
        claim("blank", "A blank reason.", figure=1.0, op=">", threshold=0.0, no_control="  ")


@pytest.mark.parametrize("kwargs, error", [
    ({"figure": float("nan")}, ValueError), ({"figure": float("inf")}, ValueError),
    ({"figure": "0.3"}, TypeError), ({"figure": True}, TypeError),
    ({"figure": torch.zeros(2)}, TypeError), ({"threshold": None}, TypeError),
    ({"op": "=="}, ValueError), ({"key": "Bad Key"}, ValueError), ({"statement": ""}, ValueError),
])
def test_bad_input(kwargs, error):
    args = {"key": "k", "statement": "s", "figure": 0.1, "op": "<", "threshold": 0.5,
            "no_control": "a test", **kwargs}
    with pytest.raises(error):
        claim(args.pop("key"), args.pop("statement"), **args)


def test_tensor_and_numpy_scalars_are_numbers():
    c = claim("scalars", "Scalars of any library.", figure=torch.tensor(0.25), op="<",
              threshold=np.float32(0.5), control=np.float64(0.75), control_label="c")
    assert isinstance(c.figure, float) and c.figure == 0.25


def test_records_go_to_the_file_named_by_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "record.jsonl"
    monkeypatch.setenv("AEBOOK_RECORD", str(path))
    monkeypatch.setenv("AEBOOK_SCALE", "quick")
    monkeypatch.setenv("AEBOOK_SEED", "2")
    from aebook import set_seed
    set_seed()
    claim("one", "First.", figure=2.0, op=">", threshold=1.0, control=0.5, control_label="c")
    with pytest.raises(AssertionError):
        claim("two", "Second, failing.", figure=0.0, op=">", threshold=1.0, no_control="a test")
    assert measure("pca30", 13.87, "PCA-30 error") == 13.87
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(r["kind"], r["key"]) for r in lines] == [("claim", "one"), ("claim", "two"), ("measure", "pca30")]
    assert lines[0]["scale"] == "quick" and lines[0]["seed"] == 2 and lines[0]["control"] == 0.5
    assert lines[1]["passed"] is False  # a failing claim is recorded before it raises


def test_measure_rejects_bad_input():
    with pytest.raises(ValueError):
        measure("x", float("nan"), "a figure")
    with pytest.raises(ValueError):
        measure("x", 1.0, "")
