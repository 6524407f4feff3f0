"""Judging answers like a grader (SPEC §9): reading claims in every equivalent form (forms),
deciding symbolic equality within a budget (symbolic), the catalogue of known mistakes per
kind (mistakes/, diagnose), follow-through of carried errors (follow) and grading a class
(grade). Everything here is a pure function of a solved problem: no printing, no files."""
