"""The books: browsing the ledger, manual adjustments, `flask ledger` checks and exports."""
