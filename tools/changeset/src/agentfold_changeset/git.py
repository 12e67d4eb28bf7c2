"""Thin wrappers around the git command line, with paths relative to the workspace root."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


class GitError(Exception):
    """A git command failed or git is unavailable."""


def run_git(root: Path, *args: str, stdin: str | None = None) -> str:
    """Run ``git args`` in ``root`` and return its standard output."""
    executable = shutil.which("git")
    if executable is None:
        raise GitError("git is not installed or not on PATH")
    result = subprocess.run(  # noqa: S603 - git resolved on PATH, arguments from this tool
        [executable, *args],
        cwd=root,
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    if result.returncode != 0:
        detail = result.stderr.strip() or f"exit status {result.returncode}"
        raise GitError(f"`git {' '.join(args)}` failed: {detail}")
    return result.stdout


def _paths(output: str) -> set[str]:
    # -z output: NUL-separated, unquoted paths.
    return {path for path in output.split("\0") if path}


def is_work_tree(root: Path) -> bool:
    """Whether ``root`` is inside a git work tree."""
    try:
        return run_git(root, "rev-parse", "--is-inside-work-tree").strip() == "true"
    except GitError:
        return False


def has_head(root: Path) -> bool:
    """Whether the repository has at least one commit."""
    try:
        run_git(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    except GitError:
        return False
    return True


def untracked_files(root: Path) -> set[str]:
    """Untracked, non-ignored files under ``root``."""
    return _paths(run_git(root, "ls-files", "-z", "--others", "--exclude-standard"))


def changed_files_since(root: Path, revision: str) -> set[str]:
    """Files changed in ``revision...HEAD``, plus uncommitted and untracked changes."""
    committed = run_git(
        root, "diff", "-z", "--name-only", "--no-renames", "--relative", f"{revision}...HEAD", "--"
    )
    uncommitted = run_git(
        root, "diff", "-z", "--name-only", "--no-renames", "--relative", "HEAD", "--"
    )
    return _paths(committed) | _paths(uncommitted) | untracked_files(root)


def empty_tree(root: Path) -> str:
    """Object id of the empty tree (differs between SHA-1 and SHA-256 repositories)."""
    return run_git(root, "hash-object", "-t", "tree", "--stdin", stdin="").strip()


def added_files_since(root: Path, base: str | None) -> set[str]:
    """Files added since ``base`` (None: since the empty tree), including untracked ones."""
    revision = base if base is not None else empty_tree(root)
    added = run_git(
        root, "diff", "-z", "--name-only", "--no-renames", "--diff-filter=A", "--relative",
        revision, "--",
    )  # fmt: skip
    return _paths(added) | untracked_files(root)


def newest_tag(root: Path, pattern: str) -> str | None:
    """The highest-versioned tag matching ``pattern`` that is reachable from HEAD."""
    if not has_head(root):
        return None
    output = run_git(root, "tag", "--list", pattern, "--merged", "HEAD", "--sort=-v:refname")
    tags = [line.strip() for line in output.splitlines() if line.strip()]
    return tags[0] if tags else None


def last_commit_touching(root: Path, path: Path) -> str | None:
    """The newest commit reachable from HEAD that changed ``path``, if any."""
    if not has_head(root):
        return None
    relative = path.resolve().relative_to(root.resolve()).as_posix()
    output = run_git(root, "log", "-1", "--format=%H", "--", relative).strip()
    return output or None


def show_file(root: Path, revision: str, path: Path) -> str:
    """The content of ``path`` at ``revision``."""
    relative = path.resolve().relative_to(root.resolve()).as_posix()
    return run_git(root, "show", f"{revision}:{relative}")
