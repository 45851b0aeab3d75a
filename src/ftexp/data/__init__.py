"""Data modules, readers and collation."""
