"""Which aebook the tests run against: the checkout (make test, an editable install in .venv) or,
under ``AEBOOK_EXPECT_INSTALLED=1`` (make colab-unit), the copy pip installed into site-packages
from git, as Colab installs it: so a module missing from the package fails there."""
import os
from pathlib import Path

import aebook

ROOT = Path(__file__).resolve().parents[1]


def test_the_aebook_under_test():
    where = Path(aebook.__file__).resolve()
    if os.environ.get("AEBOOK_EXPECT_INSTALLED") == "1":
        assert "site-packages" in where.parts, f"expected the installed aebook, got {where}"
        installed = {p.name for p in where.parent.glob("*.py")}
        assert installed == {p.name for p in (ROOT / "aebook").glob("*.py")}, "the package lacks a module"
    else:
        assert where.parent == ROOT / "aebook", f"expected the checkout's aebook, got {where}"
