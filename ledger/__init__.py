"""Cliffhanger's double-entry ledger: integer money, append-only entries, drift-free splits.

A pure package: SQLAlchemy 2, Babel and the standard library. It never imports flask or the
web app, and it never commits: every function takes a session and flushes; the caller's
service owns the transaction.
"""
