"""The ``fishshop`` subcommands, one module each: its options (``register``) and ``run``."""
