"""dlsolve: worked solutions for deep-learning course exercises."""

__version__ = "0.1.0"
