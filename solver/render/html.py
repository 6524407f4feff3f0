"""A self-contained HTML answer key: the Markdown key's content, math as MathML, figures inline.

Nothing is loaded from the network: MathML is rendered by the browser itself, figures are
embedded as data URIs, and the style sheet is inline. The Markdown key is the single source of
the content; this module only converts it.
"""

from __future__ import annotations

import base64
import html
import re
import tempfile
from functools import lru_cache
from pathlib import Path

_BLOCK_MATH = re.compile(r"\$\$\s*(.+?)\s*\$\$", re.DOTALL)
_INLINE_MATH = re.compile(r"(?<![\\$])\$(?!\$)(.+?)(?<!\\)\$")
_PLACEHOLDER = "DLSOLVEMATH{}X"

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 60rem;
       margin: 2rem auto; padding: 0 1rem; line-height: 1.5; color: #1d1d1f; }
h1 { border-bottom: 2px solid #ccd; padding-bottom: .3rem; }
h2 { margin-top: 2.5rem; border-bottom: 1px solid #dde; }
table { border-collapse: collapse; margin: .8rem 0; display: block; overflow-x: auto; max-width: 100%; }
th, td { border: 1px solid #ccd; padding: .3rem .6rem; vertical-align: top; }
th { background: #f2f3f7; }
blockquote { margin: .8rem 0; padding: .2rem 1rem; border-left: 4px solid #9ab; background: #f7f9fb; }
math[display="block"] { margin: .6rem 0; overflow-x: auto; }
pre { background: #f5f5f7; padding: .6rem; overflow-x: auto; }
img { max-width: 100%; }
code { background: #f2f3f7; padding: 0 .2rem; border-radius: 3px; }
"""


@lru_cache(maxsize=8192)  # keys repeat formulas (the same shape rule, the same answer): convert each once
def latex_to_mathml(latex: str, display: bool) -> str:
    from latex2mathml.converter import convert

    try:
        return convert(latex, display="block" if display else "inline")
    except Exception:  # a formula the converter cannot read is shown as its source
        return f'<code class="latex">{html.escape(latex)}</code>'


def markdown_to_html(markdown: str, title: str, image_dir: Path | None = None) -> str:
    """Convert a Markdown key: math to MathML, images inlined from `image_dir`."""
    from markdown_it import MarkdownIt

    formulas: list[str] = []

    def keep(match: re.Match, display: bool) -> str:
        formulas.append(latex_to_mathml(match.group(1), display))
        return _PLACEHOLDER.format(len(formulas) - 1)

    text = _BLOCK_MATH.sub(lambda m: keep(m, True), markdown)
    text = _INLINE_MATH.sub(lambda m: keep(m, False), text)
    body = MarkdownIt("commonmark").enable("table").render(text)
    body = re.sub(r"DLSOLVEMATH(\d+)X", lambda m: formulas[int(m.group(1))], body)
    if image_dir is not None:
        body = re.sub(r'<img src="([^"]+)"', lambda m: f'<img src="{_data_uri(image_dir, m.group(1))}"', body)
    body = re.sub(r'<pre><code class="language-mermaid">(.*?)</code></pre>',
                  r'<pre class="diagram"><code>\1</code></pre>', body, flags=re.DOTALL)
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
            f"{body}</body>\n</html>\n")


def _data_uri(base: Path, link: str) -> str:
    path = base / html.unescape(link)
    if not path.is_file():
        return link
    kind = {".png": "image/png", ".svg": "image/svg+xml"}.get(path.suffix.lower(), "application/octet-stream")
    return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def render_html(file_results) -> str:
    from .markdown import render_markdown

    title = next((r.title for r in file_results if r.title), None) or "dlsolve answer key"
    with tempfile.TemporaryDirectory(prefix="dlsolve-figures-") as folder:
        markdown = render_markdown(file_results, Path(folder), "")
        return markdown_to_html(markdown, title, Path(folder))
