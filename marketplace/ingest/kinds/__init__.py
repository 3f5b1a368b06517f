"""Revenue kinds beyond the paid unlock: coin unlocks (and their coin values), bundles,
purchases (sale kinds) and view counts."""
