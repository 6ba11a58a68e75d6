"""A shop's analyst: its spec, what Connect's answers mean, its status, and the calls."""
