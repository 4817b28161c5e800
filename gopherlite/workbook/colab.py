"""Point every chapter's Colab badge and install cell at one GitHub repository.

A fork of gopherlite needs two things changed in each chapter before it works on Colab: the
"Open In Colab" badge must open the chapter from the fork, and the install cell's ``REPO_URL``
must install the package from the same fork. This module makes that one edit::

    python -m gopherlite.workbook.colab <owner>/<repository> [--branch main]

(or ``make colab REPO=<owner>/<repository>``), then commit and push the notebooks. Running it
again with another repository replaces the previous one; ``--reset`` restores the neutral
badge and the empty ``REPO_URL`` the project ships with. Only the badge line, the "On Colab"
line under it and the ``REPO_URL = ...`` line change; the notebooks stay without outputs.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
NEUTRAL_BADGE = f"[![Open In Colab]({BADGE_IMAGE})](https://colab.research.google.com/)"
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$")
_BRANCH = re.compile(r"^[A-Za-z0-9._/-]{1,200}$")
_REPO_URL_LINE = re.compile(r'^REPO_URL = ".*"$')


class ForkError(ValueError):
    """A repository name, branch or notebook folder the tool cannot use."""


def parse_repository(text: str) -> str:
    """Return ``owner/name`` from ``owner/name``, ``github.com/owner/name`` or its https URL.

    Args:
      text: what the user typed.

    Returns:
      The repository's ``owner/name``.

    Raises:
      ForkError: when ``text`` names no GitHub repository.
    """
    slug = text.strip()
    slug = re.sub(r"^(https?://)?(www\.)?github\.com/", "", slug)
    slug = slug.removesuffix("/").removesuffix(".git")
    if not _SLUG.match(slug):
        raise ForkError(
            f"{text!r} is not a GitHub repository: give it as owner/name "
            "(e.g. my-account/gopherlite) or as https://github.com/owner/name"
        )
    return slug


def badge_lines(notebook_name: str, slug: str | None, branch: str) -> tuple[str, str]:
    """The badge line and the "On Colab" line for one chapter.

    Args:
      notebook_name: the chapter's file name, e.g. ``02_tokenization.ipynb``.
      slug: ``owner/name`` of the repository, or None for the neutral lines the project ships.
      branch: the branch Colab opens the chapter from.

    Returns:
      (badge line, instruction line), neither with a trailing newline.
    """
    if slug is None:
        return NEUTRAL_BADGE, (
            "*On Colab: **File → Open notebook → GitHub**, enter the repository you cloned this "
            f"workbook from, open `notebooks/{notebook_name}`, then set `REPO_URL` in the first "
            "code cell.*"
        )
    target = f"https://colab.research.google.com/github/{slug}/blob/{branch}/notebooks/"
    return f"[![Open In Colab]({BADGE_IMAGE})]({target}{notebook_name})", (
        f"*On Colab: the badge opens this chapter from `{slug}` (branch `{branch}`); the first "
        "code cell installs gopherlite from the same repository.*"
    )


def _set_line(lines: list[str], index: int, text: str) -> None:
    ending = "\n" if lines[index].endswith("\n") else ""
    lines[index] = text + ending


def point_notebook(path: Path, slug: str | None, branch: str = "main") -> bool:
    """Rewrite one chapter's badge, "On Colab" line and ``REPO_URL`` in place.

    Args:
      path: the chapter's ``.ipynb`` file.
      slug: ``owner/name`` to point at, or None for the neutral badge and an empty URL.
      branch: the branch Colab opens the chapter from.

    Returns:
      True when the file changed.

    Raises:
      ForkError: when the chapter has no badge line or no ``REPO_URL = "..."`` line.
    """
    text = path.read_text(encoding="utf-8")
    notebook = json.loads(text)
    badge, instruction = badge_lines(path.name, slug, branch)
    url = "" if slug is None else f"https://github.com/{slug}.git@{branch}"  # pip's git form
    found_badge = found_url = False
    for cell in notebook["cells"]:
        lines = cell["source"]
        for i, line in enumerate(lines):
            stripped = line.rstrip("\n")
            if cell["cell_type"] == "markdown" and stripped.startswith("[![Open In Colab]"):
                _set_line(lines, i, badge)
                found_badge = True
                if i + 1 < len(lines) and lines[i + 1].startswith("*On Colab:"):
                    _set_line(lines, i + 1, instruction)
            elif cell["cell_type"] == "code" and _REPO_URL_LINE.match(stripped):
                _set_line(lines, i, f'REPO_URL = "{url}"')
                found_url = True
    if not (found_badge and found_url):
        missing = "an Open In Colab badge" if not found_badge else 'a REPO_URL = "..." line'
        raise ForkError(f"{path} has no {missing}: restore the chapter's first cells from git")
    new_text = json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"
    if new_text == text:
        return False
    path.write_text(new_text, encoding="utf-8")
    return True


def point_workbook(folder: Path, slug: str | None, branch: str = "main") -> list[Path]:
    """Point every chapter in ``folder`` at one repository (see :func:`point_notebook`).

    Args:
      folder: the ``notebooks/`` folder.
      slug: ``owner/name``, or None to reset.
      branch: the branch Colab opens chapters from.

    Returns:
      The chapters that changed.
    """
    if not _BRANCH.match(branch) or ".." in branch:
        raise ForkError(f"{branch!r} is not a branch name: use letters, digits, '-', '_', '.', '/'")
    chapters = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not chapters:
        raise ForkError(f"no chapters (NN_name.ipynb) in {folder}: pass the notebooks/ folder")
    return [path for path in chapters if point_notebook(path, slug, branch)]


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m gopherlite.workbook.colab owner/name [--branch B]``."""
    parser = argparse.ArgumentParser(
        prog="python -m gopherlite.workbook.colab",
        description="Point every chapter's Colab badge and install cell at one GitHub repository.",
    )
    parser.add_argument("repository", nargs="?", help="owner/name or https://github.com/owner/name")
    parser.add_argument("--branch", default="main", help="branch Colab opens (default: main)")
    parser.add_argument("--notebooks", type=Path, default=Path("notebooks"), help="chapter folder")
    parser.add_argument("--reset", action="store_true", help="restore the neutral badge")
    args = parser.parse_args(argv)
    try:
        if args.reset == (args.repository is not None):
            raise ForkError("give either a repository (owner/name) or --reset, not both or neither")
        slug = None if args.reset else parse_repository(args.repository)
        changed = point_workbook(args.notebooks, slug, args.branch)
    except ForkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    target = "the neutral badge" if slug is None else f"{slug} (branch {args.branch})"
    print(f"{len(changed)} chapters now point at {target}; commit and push notebooks/.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
