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
math { font-family: "STIX Two Math", "Cambria Math", "Latin Modern Math", "DejaVu Math TeX Gyre", math; }
div.equation { margin: .5rem 0; padding: .3rem 0; overflow-x: auto; overflow-y: hidden; }
math[display="block"] { margin: 0; }
mtable { vertical-align: middle; }
nav.contents { border: 1px solid #dde; background: #f7f9fb; padding: .4rem 1.2rem; margin: 1rem 0; }
nav.contents h2 { margin-top: .4rem; }
nav.contents ul { margin: .2rem 0; }
pre { background: #f5f5f7; padding: .6rem; overflow-x: auto; }
img { max-width: 100%; }
code { background: #f2f3f7; padding: 0 .2rem; border-radius: 3px; }
"""


# A matrix environment becomes \left( matrix \right): latex2mathml writes its fences as plain
# operators that do not stretch beside a multi-row matrix, and a transpose after it as a
# superscript with three children that browsers lay out wrongly. Braced, so that a following
# ^{\top} applies to the whole fenced matrix.
_FENCES = {"pmatrix": ("(", ")"), "bmatrix": ("[", "]"), "Bmatrix": (r"\{", r"\}"), "vmatrix": ("|", "|"),
           "Vmatrix": (r"\|", r"\|")}
_TRANSPOSE = "<mo>&#x022A4;</mo>"  # ⊤ as an operator gets an operator's spacing in a superscript
_TEXT = re.compile(r"(<mtext[^>]*>)([^<]*)</mtext>")
_TEXT_ESCAPES = re.compile(r"\\([_{}#%&$])")


def _fenced_matrices(latex: str) -> str:
    for environment, (left, right) in _FENCES.items():
        latex = latex.replace(rf"\begin{{{environment}}}", rf"{{\left{left}\begin{{matrix}}")
        latex = latex.replace(rf"\end{{{environment}}}", rf"\end{{matrix}}\right{right}}}")
    return latex


@lru_cache(maxsize=8192)  # keys repeat formulas (the same shape rule, the same answer): convert each once
def latex_to_mathml(latex: str, display: bool) -> str:
    from .mathml import convert

    try:
        mathml = convert(_fenced_matrices(latex), display="block" if display else "inline")
    except Exception:  # a formula the converter cannot read is shown as its source
        return f'<code class="latex">{html.escape(latex)}</code>'
    mathml = mathml.replace(_TRANSPOSE, '<mi mathvariant="normal">&#x022A4;</mi>')
    # The converter keeps TeX's escapes inside \text{…} as written: `x\_t` must read x_t.
    mathml = _TEXT.sub(lambda m: m.group(1) + _TEXT_ESCAPES.sub(r"\1", m.group(2)) + "</mtext>", mathml)
    # The equation scrolls sideways only when it is wider than the page, in its own box: a
    # <math> element that scrolls shows a scroll arrow for the slightest overflow of its glyphs.
    return f'<div class="equation">{mathml}</div>' if display else mathml


def _heading_ids(body: str) -> tuple[str, list[tuple[int, str, str]]]:
    """Give every h1/h2 an id; return the body and its (level, id, text) headings."""
    headings: list[tuple[int, str, str]] = []
    used: set[str] = set()

    def name(match: re.Match) -> str:
        level, inner = int(match.group(1)), match.group(2)
        text = html.unescape(re.sub(r"<[^>]+>", "", inner))
        slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "section"
        unique, count = slug, 1
        while unique in used:
            count += 1
            unique = f"{slug}-{count}"
        used.add(unique)
        headings.append((level, unique, text))
        return f'<h{level} id="{unique}">{inner}</h{level}>'

    return re.sub(r"<h([12])>(.*?)</h\1>", name, body), headings


def _contents(headings: list[tuple[int, str, str]]) -> str:
    """A table of contents for a page of several documents: each document and its problems."""
    items: list[str] = []
    for level, anchor, text in headings:
        link = f'<a href="#{anchor}">{html.escape(text)}</a>'
        if level == 1:
            if items:
                items.append("</ul></li>")
            items.append(f"<li>{link}<ul>")
        elif items:
            items.append(f"<li>{link}</li>")
    if items:
        items.append("</ul></li>")
    return '<nav class="contents">\n<h2>Contents</h2>\n<ul>' + "".join(items) + "</ul>\n</nav>\n"


def markdown_to_html(markdown: str, title: str, image_dir: Path | None = None) -> str:
    """Convert a Markdown key: math to MathML, images inlined from `image_dir`."""
    body, headings = _heading_ids(markdown_to_body(markdown, image_dir))
    if sum(level == 1 for level, _, _ in headings) > 1:
        body = _contents(headings) + body
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
            f"{body}</body>\n</html>\n")


def markdown_to_fragment(markdown: str, image_dir: Path | None = None) -> str:
    """The key as a block to place inside another page (a Jupyter output cell): its style is
    scoped to the block, so the page around it keeps its own."""
    body = markdown_to_body(markdown, image_dir)
    scoped = re.sub(r"(^|})\s*([^{}]+?)\s*{",
                    lambda m: m.group(1) + "\n" + ", ".join(f".dlsolve-key {s.strip()}".replace(
                        ".dlsolve-key body", ".dlsolve-key") for s in m.group(2).split(",")) + " {",
                    _STYLE)
    return f'<div class="dlsolve-key">\n<style>{scoped}</style>\n{body}</div>\n'


def markdown_to_body(markdown: str, image_dir: Path | None = None) -> str:
    """The HTML of a Markdown key's content: math as MathML, images inlined from `image_dir`."""
    body = markdown_fragment(markdown, latex_to_mathml)
    if image_dir is not None:
        body = re.sub(r'<img src="([^"]+)"', lambda m: f'<img src="{data_uri(image_dir, m.group(1))}"', body)
    return re.sub(r'<pre><code class="language-mermaid">(.*?)</code></pre>',
                  r'<pre class="diagram"><code>\1</code></pre>', body, flags=re.DOTALL)


def markdown_fragment(markdown: str, write_math) -> str:
    """Markdown as an HTML fragment, each formula written by `write_math(latex, display)`:
    MathML here, TeX between \\( \\) for platforms that typeset it themselves."""
    from markdown_it import MarkdownIt

    formulas: list[str] = []

    def keep(match: re.Match, display: bool) -> str:
        formulas.append(write_math(match.group(1), display))
        return _PLACEHOLDER.format(len(formulas) - 1)

    text = _BLOCK_MATH.sub(lambda m: keep(m, True), markdown)
    text = _INLINE_MATH.sub(lambda m: keep(m, False), text)
    # Raw HTML is off: notes and titles come from problem files, which are untrusted (a
    # <script> in a note stays text). The key's own line breaks in table cells pass as a token.
    text = text.replace("<br>", _LINE_BREAK)
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(text)
    body = body.replace(_LINE_BREAK, "<br>")
    return re.sub(r"DLSOLVEMATH(\d+)X", lambda m: formulas[int(m.group(1))], body)


_LINE_BREAK = "DLSOLVEBREAKX"


def data_uri(base: Path, link: str) -> str:
    """A figure of the key, embedded. Any other image (a link in a problem's notes to a local
    file or a web address) is dropped: the page embeds no file but its own figures and loads
    nothing from the network."""
    path = (base / html.unescape(link)).resolve()
    if path.parent != base.resolve() or not path.is_file():
        return ""
    kind = {".png": "image/png", ".svg": "image/svg+xml"}.get(path.suffix.lower(), "application/octet-stream")
    return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def render_html(file_results) -> str:
    from .markdown import render_markdown

    title = next((r.title for r in file_results if r.title), None) or "dlsolve answer key"
    with tempfile.TemporaryDirectory(prefix="dlsolve-figures-") as folder:
        markdown = render_markdown(file_results, Path(folder), "")
        return markdown_to_html(markdown, title, Path(folder))
