"""`python -m solver …` runs the command line, as the `dlsolve` script does."""

from solver.fast import main

main()
