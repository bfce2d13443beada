"""Stand-in lm_eval for Veeksha's bridge tests (see ../README.md)."""
__version__ = "0.4.11+standin"
