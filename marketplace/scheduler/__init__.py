"""The scheduler process: APScheduler jobs onto the features' services."""
