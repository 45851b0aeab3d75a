"""Task metrics that need no torch."""
