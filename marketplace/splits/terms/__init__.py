"""Deal terms beyond the profit split: flat fees and minimum guarantees, remake royalties,
commerce splits."""
