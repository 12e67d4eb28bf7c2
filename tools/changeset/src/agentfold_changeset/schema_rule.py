"""The schema rule: database schema additions since the last release need a large enough bump.

New tables and required columns need at least a minor bump of the schema package; optional
columns and indexes at least a patch. Findings come from the AST of the ``upgrade()`` function of
Alembic revision files added since the newest release tag, never from text matching.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeGuard

from . import git
from .changeset_file import Changeset
from .problems import Problem
from .versioning import Bump, Version, VersionError, bump_between
from .workspace import Package, Workspace, WorkspaceError


@dataclass(frozen=True)
class Finding:
    """A schema addition found in a revision file."""

    path: str
    line: int
    description: str
    bump: Bump


@dataclass(frozen=True)
class SchemaCheck:
    """Outcome of the schema rule."""

    package: str
    base_tag: str | None
    revisions: tuple[str, ...]
    findings: tuple[Finding, ...]
    required: Bump | None
    granted: Bump | None
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        """Whether the rule is satisfied."""
        return not self.problems


def _quoted(name: str | None) -> str:
    return f'"{name}"' if name is not None else "(dynamic name)"


def _string_value(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    # op.f("ix_name") marks an already-conventional name; the name is its argument.
    if (
        isinstance(node, ast.Call)
        and _callee_name(node) == "f"
        and len(node.args) == 1
        and not node.keywords
    ):
        return _string_value(node.args[0])
    return None


def _callee_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    if isinstance(call.func, ast.Name):
        return call.func.id
    return None


def _receiver_name(call: ast.Call) -> str | None:
    if not isinstance(call.func, ast.Attribute):
        return None
    receiver = call.func.value
    if isinstance(receiver, ast.Name):
        return receiver.id
    if isinstance(receiver, ast.Attribute):
        return receiver.attr  # alembic.op.create_table(...)
    return None


def _argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    # Positional arguments after a *starred one cannot be attributed reliably.
    positional = call.args[: position + 1]
    if len(call.args) > position and not any(isinstance(a, ast.Starred) for a in positional):
        return call.args[position]
    for item in call.keywords:
        if item.arg == keyword:
            return item.value
    return None


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    for item in call.keywords:
        if item.arg == name:
            return item.value
    return None


def _is_op_call(node: ast.expr, method: str) -> TypeGuard[ast.Call]:
    return (
        isinstance(node, ast.Call) and _receiver_name(node) == "op" and _callee_name(node) == method
    )


def _column_finding(column: ast.expr | None, table: str | None, path: str, line: int) -> Finding:
    name: str | None = None
    required = False
    if isinstance(column, ast.Call) and _callee_name(column) == "Column":
        name = _string_value(_argument(column, 0, "name"))
        nullable = _keyword(column, "nullable")
        server_default = _keyword(column, "server_default")
        has_default = server_default is not None and not (
            isinstance(server_default, ast.Constant) and server_default.value is None
        )
        # Existing rows need a value: NOT NULL without a server default breaks old writers.
        required = (
            isinstance(nullable, ast.Constant) and nullable.value is False and not has_default
        )
    kind = "required" if required else "optional"
    return Finding(
        path,
        line,
        f"adds {kind} column {_quoted(name)} to table {_quoted(table)}",
        Bump.MINOR if required else Bump.PATCH,
    )


def _upgrade_function(tree: ast.Module) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "upgrade":
            return node
    return None


def _index_finding(call: ast.Call, table: str | None, path: str) -> Finding:
    index = _string_value(_argument(call, 0, "index_name"))
    return Finding(
        path, call.lineno, f"adds index {_quoted(index)} on table {_quoted(table)}", Bump.PATCH
    )


def _op_findings(call: ast.Call, path: str) -> list[Finding]:
    method = _callee_name(call)
    if method == "create_table":
        table = _string_value(_argument(call, 0, "table_name"))
        return [Finding(path, call.lineno, f"adds table {_quoted(table)}", Bump.MINOR)]
    if method == "add_column":
        table = _string_value(_argument(call, 0, "table_name"))
        return [_column_finding(_argument(call, 1, "column"), table, path, call.lineno)]
    if method == "create_index":
        return [_index_finding(call, _string_value(_argument(call, 1, "table_name")), path)]
    return []


def _batch_findings(
    statements: list[ast.stmt], alias: str, table: str | None, path: str
) -> list[Finding]:
    findings = []
    for node in ast.walk(ast.Module(body=statements, type_ignores=[])):
        if not isinstance(node, ast.Call) or _receiver_name(node) != alias:
            continue
        method = _callee_name(node)
        if method == "add_column":
            findings.append(_column_finding(_argument(node, 0, "column"), table, path, node.lineno))
        elif method == "create_index":
            findings.append(_index_finding(node, table, path))
    return findings


def analyse_revision(source: str, path: str) -> list[Finding]:
    """Schema additions made by the ``upgrade()`` function of an Alembic revision file."""
    tree = ast.parse(source, filename=path)
    upgrade = _upgrade_function(tree)
    if upgrade is None:
        return []
    body = ast.Module(body=upgrade.body, type_ignores=[])

    findings: list[Finding] = []
    for node in ast.walk(body):
        if isinstance(node, ast.Call) and _receiver_name(node) == "op":
            findings.extend(_op_findings(node, path))
        elif isinstance(node, ast.With | ast.AsyncWith):
            # Calls on `with op.batch_alter_table(table) as name:` apply to that table;
            # aliases are scoped to their block (every block may reuse `batch_op`).
            for item in node.items:
                call, alias = item.context_expr, item.optional_vars
                if _is_op_call(call, "batch_alter_table") and isinstance(alias, ast.Name):
                    table = _string_value(_argument(call, 0, "table_name"))
                    findings.extend(_batch_findings(node.body, alias.id, table, path))
    return sorted(findings, key=lambda finding: finding.line)


def is_revision_path(path: str, folders: Iterable[str]) -> bool:
    """Whether root-relative ``path`` is a revision file in one of the migration folders.

    A folder matches the file's directory exactly or as its trailing part, so the default
    ``migrations/manage/versions`` also covers a package-internal
    ``packages/core/src/agentfold_core/migrations/manage/versions``.
    """
    if not path.endswith(".py"):
        return False
    directory, _, _ = path.rpartition("/")
    return any(directory == folder or directory.endswith("/" + folder) for folder in folders)


def required_bump(findings: Iterable[Finding]) -> Bump | None:
    """The largest bump any finding needs, or None without findings."""
    return max((finding.bump for finding in findings), default=None)


def _tag_version(tag: str, pattern: str) -> Version | None:
    prefix = pattern.split("*", 1)[0].split("?", 1)[0].split("[", 1)[0]
    try:
        return Version.parse(tag[len(prefix) :]) if tag.startswith(prefix) else None
    except VersionError:
        return None


@dataclass(frozen=True)
class ReleaseBase:
    """Where the last release of the schema package is: a tag, or else its release commit."""

    revision: str
    label: str
    version: Version | None


def release_base(workspace: Workspace, package: Package) -> ReleaseBase | None:
    """The newest ``core-v*`` tag; without one (a clone without tags), the last commit that
    wrote the package's CHANGELOG, which only ``version`` does; ``None`` before any release."""
    config = workspace.config
    tag = git.newest_tag(workspace.root, config.schema_tag)
    if tag is not None:
        return ReleaseBase(tag, tag, _tag_version(tag, config.schema_tag))
    commit = git.last_commit_touching(workspace.root, package.changelog)
    if commit is None:
        return None
    try:
        text = git.show_file(workspace.root, commit, package.pyproject)
        version = Version.parse(str(tomllib.loads(text)["project"]["version"]))
    except (git.GitError, KeyError, tomllib.TOMLDecodeError, VersionError):
        version = None
    return ReleaseBase(commit, f"the release commit {commit[:12]}", version)


def granted_bump(
    workspace: Workspace, changesets: Sequence[Changeset], base: ReleaseBase | None
) -> Bump | None:
    """The bump the schema package gets from pending changesets or an unreleased version.

    A version already raised by ``version`` but not yet tagged still counts, so the rule keeps
    passing between versioning and tagging.
    """
    name = workspace.config.schema_package
    bumps = [bump for changeset in changesets if (bump := changeset.bump_for(name)) is not None]
    package = workspace.get(name)
    if (
        package is not None
        and base is not None
        and base.version is not None
        and (applied := bump_between(base.version, package.version))
    ):
        bumps.append(applied)
    return max(bumps, default=None)


def check_schema_rule(workspace: Workspace, changesets: Sequence[Changeset]) -> SchemaCheck:
    """Apply the schema rule to revision files added since the newest release tag."""
    config = workspace.config
    package = workspace.get(config.schema_package)
    if package is None:
        raise WorkspaceError(
            f'schema-package "{config.schema_package}" is not a released workspace package'
        )
    if not git.is_work_tree(workspace.root):
        raise git.GitError(f"{workspace.root} is not inside a git work tree")
    base = release_base(workspace, package)
    revisions = sorted(
        path
        for path in git.added_files_since(workspace.root, base.revision if base else None)
        if is_revision_path(path, config.migrations)
    )

    findings: list[Finding] = []
    problems: list[Problem] = []
    for path in revisions:
        file = workspace.root / path
        if not file.is_file():
            continue
        try:
            findings.extend(analyse_revision(file.read_text(encoding="utf-8"), path))
        except SyntaxError as error:
            problems.append(
                Problem(path, error.lineno or 1, f"cannot parse revision file: {error.msg}")
            )
        except (OSError, UnicodeDecodeError) as error:
            problems.append(Problem(path, 1, f"cannot read revision file: {error}"))

    granted = granted_bump(workspace, changesets, base)
    given = granted.label if granted is not None else "none"
    for finding in findings:
        if granted is None or granted < finding.bump:
            problems.append(
                Problem(
                    finding.path,
                    finding.line,
                    f"{finding.description} requires at least a {finding.bump.label} bump of "
                    f"{package.name}, but the pending changesets give {given}",
                )
            )
    return SchemaCheck(
        package=package.name,
        base_tag=base.label if base else None,
        revisions=tuple(revisions),
        findings=tuple(findings),
        required=required_bump(findings),
        granted=granted,
        problems=tuple(problems),
    )
