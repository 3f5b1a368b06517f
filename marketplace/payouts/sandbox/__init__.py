"""Payments: Stripe Connect integration and the project's own emulated Stripe."""
