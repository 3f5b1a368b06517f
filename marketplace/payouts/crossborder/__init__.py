"""Paying people abroad: Stripe's documented Connect rules (stripe_rules) and where a
transfer's money landed, converted or not (landing)."""
