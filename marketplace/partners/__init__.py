"""Partner apps: their terms and their API keys."""
