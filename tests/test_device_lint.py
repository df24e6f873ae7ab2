"""A lint for device-clean code (CONVENTIONS.md, issue 16): a tensor made inside aebook, or in a
chapter's code cell, is made on a named device.

It parses aebook's source and the chapters' code cells with ``ast`` and flags every call of a
torch tensor constructor (``torch.arange``, ``zeros``, ``randn``, ``Generator``, ``tensor``...)
that has no ``device=`` keyword (``torch.Generator(device)`` may name it positionally), unless
its statement, or the line above the statement, carries a comment ``# cpu: <reason>`` saying why
the CPU is meant (e.g. seeded draws that must be the same on every device). Not flagged, because
the device is decided elsewhere or does not matter:

- a value moved at once, ``torch.randn(...).to(device)`` (also through an index: ``[:n].to(...)``),
  or leaving torch at once (``.tolist()``, ``.item()``, ``.numpy()``);
- a ``torch.Generator()`` passed as ``generator=`` to a constructor: the outer call is checked;
- the value of ``nn.Parameter(...)`` or ``register_buffer(...)``: the module's ``.to()`` moves it;
- ``*_like`` constructors and ``x.new_*`` methods, which follow their tensor.

The chapters' code cells are held to the same rule: a tensor made on the CPU and combined with a
model's outputs must be moved explicitly, or say why it stays.
"""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONSTRUCTORS = {"arange", "zeros", "ones", "empty", "full", "rand", "randn", "randint", "randperm",
                "linspace", "logspace", "eye", "tensor", "as_tensor", "Generator"}
REASON = re.compile(r"#\s*cpu:\s*\S")


MOVED_WITH_MODULE = {"Parameter", "register_buffer"}  # a module's .to(device) moves these
MOVED = {"to", "cpu", "cuda"}                  # an explicit move right after the constructor
LEAVES_TORCH = {"tolist", "item", "numpy"}     # the value is no tensor any more


def _is_constructor(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in CONSTRUCTORS and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "torch")


def _name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _exempt(node: ast.Call, parents: dict[ast.AST, ast.AST]) -> bool:
    """Whether the constructor's device is decided elsewhere (see the module docstring)."""
    child, up = node, parents.get(node)
    # Follow the value out through indexing, attribute access and method calls on it.
    while isinstance(up, (ast.Subscript, ast.Attribute, ast.Call, ast.keyword)):
        if isinstance(up, ast.keyword):  # torch.Generator().manual_seed(0) as a constructor's generator=
            return up.arg == "generator" and _is_constructor(parents.get(up))
        if isinstance(up, ast.Subscript) and up.value is not child:
            break  # used as an index of something else
        if isinstance(up, ast.Call) and up.func is not child:
            if _name(up.func) in MOVED_WITH_MODULE:
                return True
            break  # passed as an argument
        if isinstance(up, ast.Attribute) and up.attr in MOVED | LEAVES_TORCH:
            return True
        child, up = up, parents.get(up)
    return False


def constructor_calls(tree: ast.AST) -> list[ast.Call]:
    """Calls ``torch.<constructor>(...)`` whose device is not decided elsewhere, in line order."""
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    calls = [n for n in ast.walk(tree) if _is_constructor(n) and not _exempt(n, parents)]
    for call in calls:
        up = call
        while not isinstance(up, ast.stmt):
            up = parents[up]
        call.statement = up  # the statement the call is part of, for its '# cpu:' comment
    return sorted(calls, key=lambda c: (c.lineno, c.col_offset))


def violations(source: str) -> list[tuple[int, str]]:
    """(line, text) of each constructor call without device= and without a '# cpu:' reason."""
    lines = source.splitlines()
    found = []
    for call in constructor_calls(ast.parse(source)):
        if any(k.arg == "device" for k in call.keywords):
            continue
        if call.func.attr == "Generator" and call.args:  # torch.Generator(device) names it positionally
            continue
        span = range(max(call.statement.lineno - 2, 0), call.statement.end_lineno)  # line above + statement
        if any(REASON.search(lines[i]) for i in span):
            continue
        found.append((call.lineno, f"torch.{call.func.attr}: {lines[call.lineno - 1].strip()}"))
    return found


def chapter_source(path: Path) -> str:
    """The chapter's code cells joined, IPython magics and shell lines commented out."""
    cells = json.loads(path.read_text())["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    text = "\n".join(code)
    return re.sub(r"^(\s*)([%!])", r"\1pass  # \2", text, flags=re.M)


MODULES = sorted((ROOT / "aebook").glob("*.py"))
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))


def test_the_lint_sees_what_it_should():
    bad = "import torch\nx = torch.zeros(3)\ny = torch.Generator().manual_seed(0)\n"
    assert [line for line, _ in violations(bad)] == [2, 3]
    good = ("import torch\nx = torch.zeros(3, device=d)\ng = torch.Generator(d)\n"
            "# cpu: the same draws on every device\nz = torch.randn(3, generator=g)\n"
            "w = torch.arange(4)  # cpu: an index for a numpy array\nv = torch.zeros_like(x)\n"
            "p = nn.Parameter(torch.empty(3).uniform_())\nself.register_buffer('b', torch.zeros(3))\n"
            "u = torch.randn(3, generator=g)[:2].to(d)\nn = torch.logspace(0, 1, 3).tolist()\n"
            "r = torch.rand(3, generator=torch.Generator().manual_seed(0), device=d)\n"
            "# cpu: a reason for the whole statement\nt = {'a': 1,\n     'b': torch.rand(2)}\n")
    assert violations(good) == []
    moved_too_late = "import torch\nx = (2 * torch.rand(3)).to(d)\ny = f(torch.zeros(2).to(d), torch.ones(2))\n"
    assert [line for line, _ in violations(moved_too_late)] == [2, 3]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_aebook_makes_tensors_on_a_named_device(path):
    found = violations(path.read_text())
    assert not found, f"{path.name}: tensor constructors without device= or '# cpu:' reason: {found}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapters_make_tensors_on_a_named_device(path):
    found = violations(chapter_source(path))
    assert not found, f"{path.name}: tensor constructors without device= or '# cpu:' reason: {found}"
