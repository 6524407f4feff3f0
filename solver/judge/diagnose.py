"""Which known mistakes reproduce a wrong claimed field (SPEC §9 diagnosis).

A mistake reproduces the claim when the answers recomputed as the mistaken student would
equal the whole claimed field at the problem's decimals. For the step-by-step kinds the
mistaken computation also starts from the claimant's own earlier values (follow-through with
the mistake applied). A mistake that changes nothing for this problem is never reported.
"""

from __future__ import annotations

import re

from ..render.values import jsonable


def _mistaken_answers(mistake, result):
    from .mistakes import solve_given

    if mistake.recompute is not None:
        return mistake.recompute(result), None
    changed = mistake.modify(dict(result.given), result)
    if changed is None:
        return None, None
    given, rounding = changed
    return solve_given(result.kind, given, decimals=result.decimals, round_intermediate=rounding), changed


def diagnose(result, path: str, cache: dict | None = None) -> list[dict]:
    """[{"mistake", "says", "value"}] for every catalogued mistake that reproduces the claimed
    `path` (an answer name, `totals.params` or `layers[2].output`). `cache` keeps each mistake's
    recomputed answers for the other fields of the same problem."""
    from ..check import lookup, whole_field_matches
    from .follow import follow_value
    from .mistakes import for_kind

    try:
        claimed = lookup(result.claimed, path)
        right = lookup(result.solution.answers, path)
    except KeyError:
        return []
    found = []
    for mistake in for_kind(result.kind):
        if not re.search(mistake.fields, path):
            continue
        try:
            key = (mistake.id, mistake.kinds)
            if cache is None or key not in cache:
                computed = _mistaken_answers(mistake, result)
                if cache is not None:
                    cache[key] = computed
            else:
                computed = cache[key]
            answers, changed = computed
            candidates = []
            if answers is not None:
                candidates.append(lookup(answers, path))
            # the mistake applied from the claimant's own earlier values
            carried = (follow_value(result, path, given=changed[0], round_intermediate=changed[1])
                       if changed is not None else
                       follow_value(result, path, settings=mistake.settings) if mistake.settings else None)
            if carried is not None:
                candidates.append(carried[0])
        except Exception:  # the mistake does not apply to this problem
            continue
        for value in candidates:
            if whole_field_matches(value, right, result.decimals, result.kind, path):
                continue  # the slip changes nothing here
            if whole_field_matches(claimed, value, result.decimals, result.kind, path):
                found.append({"mistake": mistake.id, "says": mistake.says, "value": jsonable(value)})
                break
    return found
