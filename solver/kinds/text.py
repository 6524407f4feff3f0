"""Kind `text`: a conceptual question with a written answer (true/false, a choice, prose).

The answer key shows the answer as given; `check` compares a claimed answer with it
(case-insensitive for words and true/false)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from ..context import Context
from ..inputs import KindInput
from ..registry import register
from ..steps import Solution


class TextInput(KindInput):
    answer: Any = Field(description="the answer: prose, true/false, or a choice")
    question: str | None = Field(None, description="the question, shown with the answer")
    explanation: str | None = Field(None, description="a short reason, shown as a step")

    @field_validator("answer")
    @classmethod
    def _answer(cls, value):
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ValueError("a text problem needs a non-empty answer")
        if isinstance(value, (dict, list)):
            raise ValueError("answer must be text, a number, or true/false")
        return value


@register(
    "text",
    TextInput,
    summary="A conceptual question answered in words (true/false, a choice or prose); passed "
            "through unchanged.",
    answers={"answer": "the answer, unchanged"},
    example='--question "Is XOR linearly separable?" --answer false',
    template={"question": "Can one neuron compute XOR?", "answer": False,
              "explanation": "XOR is not linearly separable."},
)
def solve(given: TextInput, ctx: Context) -> Solution:
    sol = Solution()
    if given.question:
        sol.note(f"Question: {given.question}")
    if given.explanation:
        sol.note(given.explanation)
    sol.set_answer("answer", given.answer)
    return sol
