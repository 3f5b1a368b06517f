"""Use cases: plain functions taking plain arguments; the only code that commits."""
