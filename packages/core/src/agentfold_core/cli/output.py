"""What ``agentfold db`` prints: reports for people, and progress while migrating."""

from __future__ import annotations

import sys
from typing import TextIO

from agentfold_core.migrations import (
    AppliedStep,
    CurrentState,
    DriftReport,
    MigrationObserver,
    MigrationResult,
    PlannedStep,
    RevisionInfo,
    Role,
    SchemaReport,
)

BASE = "<base>"


def seconds(value: float) -> str:
    """A duration for people: milliseconds below one second."""
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def revisions_label(revisions: tuple[str, ...]) -> str:
    """Revision ids, or ``<base>`` for an empty history."""
    return ", ".join(revisions) if revisions else BASE


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


class ProgressPrinter(MigrationObserver):
    """Prints each step as it completes; on a terminal, also the step in progress."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None) -> None:
        # Looked up per instance, so redirected streams (tests, wrappers) are honoured.
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.live = self.out.isatty()
        self.plan: tuple[PlannedStep, ...] = ()

    def waiting(self, role: Role, message: str) -> None:
        """Say the run waits for another process's lock."""
        print(f"{role}: {message}", file=self.err, flush=True)

    def planned(self, role: Role, steps: tuple[PlannedStep, ...]) -> None:
        """Announce the revisions about to run."""
        self.plan = steps
        if steps:
            verb = "applying" if steps[0].direction == "upgrade" else "reverting"
            print(f"{role}: {verb} {_plural(len(steps), 'revision')}", file=self.out, flush=True)
            self._show_running(1)

    def step_done(self, role: Role, index: int, step: AppliedStep) -> None:
        """Print the finished step and, on a terminal, the next one running."""
        text = f"{self._line(index, step.revision, step.message)}  {seconds(step.seconds)}"
        if self.live:
            text = f"\r{text}\033[K"  # replaces the "..." line of the step in progress
        print(text, file=self.out, flush=True)
        self._show_running(index + 1)

    def _line(self, index: int, revision: str, message: str) -> str:
        width = len(str(len(self.plan)))
        return f"  [{index:>{width}}/{len(self.plan)}] {revision} {message}"

    def _show_running(self, index: int) -> None:
        if self.live and index <= len(self.plan):
            step = self.plan[index - 1]
            running = f"{self._line(index, step.revision, step.message)} ..."
            print(running, end="", file=self.out, flush=True)


def migration_summary(result: MigrationResult) -> str:
    """One line saying what a run did, from which revision to which, and how long it took."""
    took = seconds(result.seconds)
    if not result.steps:
        where = revisions_label(result.to_revisions)
        return f"{result.role}: already at {where}; nothing to do ({took})"
    verb = "upgraded" if result.direction == "upgrade" else "downgraded"
    line = (
        f"{result.role}: {verb} {revisions_label(result.from_revisions)} -> "
        f"{revisions_label(result.to_revisions)} "
        f"({_plural(len(result.steps), 'revision')} in {took})"
    )
    if result.commits:
        count = len(result.commits)
        branches = "1 branch" if count == 1 else f"{count} branches"
        line += f"; committed what it changed on {branches}"
    return line


def current_lines(state: CurrentState) -> list[str]:
    """Where one database stands, and the command that brings it to head."""
    role = state.role
    upgrade = f"agentfold db upgrade --db {role}"
    if not state.exists:
        return [f"{role}: no database yet (the SQLite file does not exist); create it: {upgrade}"]
    if not state.revisions:
        return [f"{role}: no revision applied (empty database); run: {upgrade}"]
    lines = []
    for revision in state.revisions:
        head = " (head)" if revision in state.heads else ""
        message = state.messages.get(revision, "unknown to this version of agentfold")
        lines.append(f"{role}: {revision}{head} {message}")
    if not state.at_head:
        lines.append(f"{role}: behind head {revisions_label(state.heads)}; run: {upgrade}")
    return lines


def history_lines(
    role: Role, revisions: list[RevisionInfo], applied: tuple[str, ...] | None, verbose: bool
) -> list[str]:
    """The revisions of one database, newest first."""
    lines = [f"{role}:"]
    if not revisions:
        lines.append("  (no revisions)")
    for info in revisions:
        marks = ["head"] if info.is_head else []
        if applied is not None and info.revision in applied:
            marks.append("current")
        suffix = f" ({', '.join(marks)})" if marks else ""
        arrow = f"{revisions_label(info.down_revisions)} -> {info.revision}"
        lines.append(f"  {arrow}{suffix}  {info.message}")
        if verbose:
            if info.create_date:
                lines.append(f"      created {info.create_date}")
            lines.append(f"      file {info.path}")
    return lines


def drift_lines(report: DriftReport) -> list[str]:
    """The check's verdict on one database, with the differences and the fix."""
    head = revisions_label(report.heads)
    warning = (
        [f"{report.role}: warning: {report.row_security_bypassed}"]
        if report.row_security_bypassed
        else []
    )
    if report.ok:
        return [f"{report.role}: the models and the migration head ({head}) agree", *warning]
    lines = [
        *warning,
        f"{report.role}: the models and the migration head ({head}) disagree "
        f"({_plural(len(report.differences), 'difference')}):",
    ]
    lines += [f"  - {difference}" for difference in report.differences]
    lines.append(f"  fix: {report.fix_command}")
    return lines


def schema_lines(report: SchemaReport) -> list[str]:
    """The verify verdict on one database, with what is missing and the fix."""
    if report.ok:
        return [f"{report.role}: ready (at {revisions_label(report.revisions)})"]
    lines = [f"{report.role}: not ready"]
    lines += [f"  - {problem}" for problem in report.problems()]
    lines.append(f"  fix: {report.fix_command}")
    return lines
