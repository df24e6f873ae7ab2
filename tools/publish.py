"""The book's repository, named once in _config.yml, and what is derived from it.

`repository.url` and `repository.branch` in _config.yml are the one place that names the
repository the book is published from. Jupyter Book builds the rocket-icon Colab links from them.
The chapters carry them too, since GitHub and Colab read a notebook alone: the Colab setup cell
installs aebook from `git+URL@BRANCH`, and the badge cell at the top opens the notebook in Colab.

    python tools/publish.py check   fail if PUBLISH is set and the URL is still the placeholder
                                    (make publish-check; the deploy workflow sets PUBLISH)
    python tools/publish.py links   write the URL and branch of _config.yml into every chapter's
                                    setup cell and badge (make colab-links), after changing them

tests/test_notebooks.py checks, independently of this file, that the chapters agree with
_config.yml; tests/test_publish.py runs both commands.
"""
from __future__ import annotations

import argparse
import os
import posixpath
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
# The URL this repository ships with: a book published with it would install aebook, and open
# every chapter in Colab, from a repository that is not the publisher's.
PLACEHOLDER = "https://github.com/aebook/aebook"
BADGE_IMAGE = "_static/colab-badge.svg"  # served by the book from its root _static/
BADGE_ID = "colab-badge"  # the nbformat cell id of the badge cell
INSTALL = re.compile(r"git\+(\S+?)@([^\s\"']+)")  # `git+URL@BRANCH` in the setup cell


def repository(config: Path) -> dict:
    """_config.yml's `repository` and `launch_buttons.colab_url`, as one dict."""
    data = yaml.safe_load(config.read_text())
    return {**data["repository"], "colab_url": data["launch_buttons"]["colab_url"].rstrip("/")}


def colab_url(repo: dict, notebook: str) -> str:
    """The Colab URL of `notebook` (a path from the book's root, e.g. chapters/01_x.ipynb): the one
    Jupyter Book's launch button gives it."""
    path = posixpath.join(repo.get("path_to_book") or "", notebook)
    return f"{repo['colab_url']}/github/{urlsplit(repo['url']).path.strip('/')}/blob/{repo['branch']}/{path}"


def badge_source(repo: dict, notebook: Path, root: Path) -> str:
    """The markdown of `notebook`'s badge cell: the book's own badge image, linked to Colab."""
    image = Path(os.path.relpath(root / BADGE_IMAGE, notebook.parent)).as_posix()
    return f"[![Open In Colab]({image})]({colab_url(repo, notebook.relative_to(root).as_posix())})"


def check(config: Path, env: dict[str, str]) -> list[str]:
    """What is wrong with publishing from `config` under environment `env`; [] if nothing.
    Without PUBLISH nothing is checked: a clone may build and test with the placeholder."""
    if not env.get("PUBLISH"):
        return []
    url = repository(config)["url"].rstrip("/")
    problems = []
    if url.lower() == PLACEHOLDER:
        problems.append(f"{config.name}: repository.url is the placeholder {PLACEHOLDER}. Set it to "
                        "your repository (README: Publishing your copy), then run `make colab-links`.")
    # In GitHub Actions: the repository that builds is the one the links must point at.
    elif (here := env.get("GITHUB_REPOSITORY")) and url.lower() != f"https://github.com/{here}".lower():
        problems.append(f"{config.name}: repository.url is {url}, but this is https://github.com/{here}")
    return problems


def sync_links(repo: dict, notebook: Path, root: Path) -> bool:
    """Write `repo`'s URL and branch into `notebook`'s setup cell (the first code cell) and its
    badge (a first markdown cell with id colab-badge, inserted if missing). True if it changed."""
    nb = nbformat.read(notebook, as_version=4)
    before = nbformat.writes(nb)
    setup = next(c for c in nb.cells if c.cell_type == "code")
    if len(INSTALL.findall(setup.source)) != 1:
        raise ValueError(f"{notebook}: the first code cell should install aebook from one git+URL@BRANCH")
    setup.source = INSTALL.sub(f"git+{repo['url']}@{repo['branch']}", setup.source)
    badge = badge_source(repo, notebook, root)
    if nb.cells[0].get("id") == BADGE_ID:
        nb.cells[0].source = badge
    else:
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(badge, id=BADGE_ID))
    if nbformat.writes(nb) == before:
        return False
    nbformat.write(nb, notebook)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["check", "links"])
    parser.add_argument("--root", type=Path, default=ROOT, help="the book's root (default: this repository)")
    args = parser.parse_args(argv)
    config = args.root / "_config.yml"
    if args.command == "check":
        problems = check(config, dict(os.environ))
        for p in problems:
            print(f"publish-check: {p}", file=sys.stderr)
        if problems:
            return 1
        url = repository(config)["url"]
        print(f"publish-check: publishing from {url}" if os.environ.get("PUBLISH")
              else f"publish-check: PUBLISH is not set; {url} is not checked")
        return 0
    repo = repository(config)
    for notebook in sorted((args.root / "chapters").glob("*.ipynb")):
        if sync_links(repo, notebook, args.root):
            print(f"{notebook.relative_to(args.root)}: Colab links now point at {repo['url']}@{repo['branch']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
