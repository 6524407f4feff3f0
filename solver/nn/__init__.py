"""NumPy layers with hand-written backward passes, initialisers and update rules."""
