"""Splitting revenue among parties: drift-free cumulative splits, buckets, batched posting."""
