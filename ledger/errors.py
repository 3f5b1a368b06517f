"""The ledger's domain errors; every one derives from LedgerError."""


class LedgerError(Exception):
    """Base class of every error the ledger raises on purpose."""


class CurrencyMismatch(LedgerError):
    """Two amounts (or a leg and its account) are in different currencies."""


class UnbalancedEntry(LedgerError):
    """An entry's legs do not sum to zero in every currency."""


class IdempotencyConflict(LedgerError):
    """An idempotency key was reused with different content."""


class AlreadyReversed(LedgerError):
    """The entry has already been reversed; an entry is reversed at most once."""


class InsufficientFunds(LedgerError):
    """A must-not-go-negative account would drop below zero."""


class UnknownAccount(LedgerError):
    """A leg names an account id that does not exist."""


class AccountMismatch(LedgerError):
    """get_or_create_account found the account but with a different type or flag."""


class BucketMismatch(LedgerError):
    """An allocation bucket key was reused with other parties, currency or debit account."""
