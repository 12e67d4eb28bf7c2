"""Credits: grants to a tenant or one of its projects, and the ledger of operations."""

from __future__ import annotations

from agentfold_core.data_access.crud import Entity
from agentfold_core.db.runtime.schema import (
    CreditGrant,
    CreditGrantRow,
    CreditLedgerEntry,
    CreditLedgerEntryRow,
)

CREDIT_GRANTS: Entity[CreditGrantRow] = Entity(
    CreditGrant, label="credit_grant", plural="credit_grants", path="credit-grants"
)
get_credit_grant = CREDIT_GRANTS.get
list_credit_grants = CREDIT_GRANTS.list

CREDIT_LEDGER: Entity[CreditLedgerEntryRow] = Entity(
    CreditLedgerEntry,
    label="credit_ledger_entry",
    plural="credit_ledger_entries",
    path="credit-ledger",
)
get_credit_ledger_entry = CREDIT_LEDGER.get
list_credit_ledger_entries = CREDIT_LEDGER.list
