"""The queue-based autoscaler: its spec, its pure decisions, its memory and its loop."""
