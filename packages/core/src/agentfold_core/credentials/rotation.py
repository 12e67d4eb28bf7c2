"""Key rotation: re-wrap every data key under the ring's current master key.

Only the small wrapped data key changes; the ciphertext of the value does not. Rows are
read in key order in bounded batches across tenants and written back per tenant in
one short transaction per batch, each row compared and set on its version: a secret
written meanwhile (already under the current key, by a writer with the same ring)
keeps its new value. Each batch commits, so an interrupted run resumes where it
stopped when run again: rows already under the current key are no longer selected.
Readers keep working throughout: a row is always whole under one key of the ring.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from agentfold_core.data_access.doors import Db
from agentfold_core.data_access.runtime.credential_secrets import (
    Rewrap,
    SecretKey,
    count_secrets_by_key,
    rewrap_secrets,
    sealed_of,
    secrets_to_rewrap,
)
from agentfold_core.errors import MasterKeyError
from agentfold_core.scopes import TenantScope
from agentfold_core.secrets.envelope import SecretIdentity, rewrap
from agentfold_core.secrets.keyring import KeyRing

DEFAULT_BATCH = 200
_ERRORS_KEPT = 20
# A sweep that lost some compare-and-sets goes round again, at most this often: only a
# writer still sealing under an older key (an outdated ring) keeps rows there.
MAX_SWEEPS = 5


@dataclass
class RotationReport:
    """What a rotation did, and what is left under other keys."""

    key_id: str
    rewrapped: int = 0
    # Rows written between their read and their re-wrap: left as written, read again.
    changed_meanwhile: int = 0
    batches: int = 0
    # Rows that did not open with the ring (key missing, wrong key, altered record): left
    # as they are; the first few errors say which and why.
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    # Secrets per master key id once done (the current key alone when complete).
    by_key: dict[str, int] = field(default_factory=dict)

    @property
    def remaining(self) -> int:
        """Secrets still wrapped under another key than the current one."""
        return sum(n for key_id, n in self.by_key.items() if key_id != self.key_id)


async def rotate_secrets(
    runtime: Db,
    ring: KeyRing,
    *,
    batch_size: int = DEFAULT_BATCH,
    tenant_id: str | None = None,
    progress: Callable[[RotationReport], None] | None = None,
) -> RotationReport:
    """Re-wrap every stored secret (of ``tenant_id``, or all) under ``ring``'s current
    key. A row that does not open (its key is missing from the ring, or wrong) is left
    as it is and counted in ``failed``, with the error naming its key id."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    report = RotationReport(key_id=ring.current_id)
    for _ in range(MAX_SWEEPS):
        missed = await _sweep(runtime, ring, report, batch_size, tenant_id, progress)
        if not missed:
            break
        # Failures are counted again by the next sweep.
        report.failed, report.errors = 0, []
    report.by_key = await count_secrets_by_key(runtime)(tenant_id=tenant_id)
    return report


async def _sweep(
    runtime: Db,
    ring: KeyRing,
    report: RotationReport,
    batch_size: int,
    tenant_id: str | None,
    progress: Callable[[RotationReport], None] | None,
) -> int:
    missed = 0
    after: SecretKey | None = None
    find = secrets_to_rewrap(runtime)
    while rows := await find(
        key_id=ring.current_id, limit=batch_size, after=after, tenant_id=tenant_id
    ):
        last = rows[-1]
        after = (last.tenant_id, last.project_id, last.id)
        by_tenant: dict[str, list[Rewrap]] = defaultdict(list)
        for row in rows:
            identity = SecretIdentity(row.tenant_id, row.project_id, row.id)
            try:
                sealed = rewrap(ring, identity, sealed_of(row))
            except MasterKeyError as exc:
                report.failed += 1
                if len(report.errors) < _ERRORS_KEPT:
                    report.errors.append(exc.message)
                continue
            by_tenant[row.tenant_id].append(Rewrap(row.project_id, row.id, row.version, sealed))
        for tenant, items in by_tenant.items():
            applied = await rewrap_secrets(runtime)(scopes=TenantScope(tenant), rewraps=items)
            report.rewrapped += applied
            report.changed_meanwhile += len(items) - applied
            missed += len(items) - applied
        report.batches += 1
        if progress is not None:
            progress(report)
    return missed
