"""`python -m solver …` runs the `dlsolve` command line."""

from .cli import main

main()
