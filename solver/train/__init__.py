"""Companion training module: data loaders, run folders and the course's programming tasks."""
