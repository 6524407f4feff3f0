"""Question text and feedback as HTML, with the math each platform renders.

Both formats start from the same Markdown (questions.py). Moodle gets TeX between \\( \\) and
\\[ \\], which its MathJax filter typesets; QTI gets MathML, the math language of QTI 2.1 item
bodies, converted from the same TeX by latex2mathml (as the HTML answer key does).
"""

from __future__ import annotations

import html
import re


def tex_math(latex: str, display: bool) -> str:
    """TeX for Moodle's MathJax filter; <, > and & escaped, since it sits in HTML."""
    body = html.escape(latex, quote=False)
    return f"\\[{body}\\]" if display else f"\\({body}\\)"


def moodle_html(markdown: str) -> str:
    from ..render.html import markdown_fragment

    return clean_html(markdown_fragment(markdown, tex_math)).strip()


def qti_elements(markdown: str, namespace: str):
    """Markdown as one <div> of QTI XHTML, math as MathML."""
    from ..render.html import latex_to_mathml, markdown_fragment

    return html_elements(markdown_fragment(markdown, latex_to_mathml), namespace)[0]


# ---------------------------------------------------------------------------------------------
# HTML as elements: only the markup a quiz needs, so that a problem file's own HTML (a note
# with <script> in it) reaches no platform, and QTI gets the XHTML subset its schema allows.

MATHML = "http://www.w3.org/1998/Math/MathML"
_ALLOWED = {
    "p": (), "div": (), "span": (), "ul": (), "ol": (), "li": (), "table": (), "thead": (),
    "tbody": (), "tr": (), "td": (), "th": (), "pre": (), "code": (), "em": (), "strong": (),
    "b": (), "i": (), "h1": (), "h2": (), "h3": (), "h4": (), "h5": (), "h6": (), "br": (),
    "hr": (), "blockquote": (), "sub": (), "sup": (), "img": ("src", "alt"), "a": ("href",),
}
_SAFE_LINK = re.compile(r"^(https?://|mailto:|#|FIGURE/)", re.IGNORECASE)  # FIGURE/: questions.FIGURE_PREFIX
_VOID = {"br", "hr", "img", "area", "base", "col", "embed", "input", "link", "meta", "source", "track", "wbr"}
_DROP_WITH_CONTENT = {"script", "style", "iframe", "object", "template", "textarea", "select"}


def html_elements(fragment: str, namespace: str | None = None) -> list:
    """An HTML fragment as ElementTree nodes inside one <div> (returned as [div]): allowed
    elements kept (in `namespace`), others unwrapped, scripts dropped, MathML kept whole."""
    import xml.etree.ElementTree as ET
    from html.parser import HTMLParser

    def name(tag: str, math: bool) -> str:
        if math:
            return f"{{{MATHML}}}{tag}"
        return f"{{{namespace}}}{tag}" if namespace else tag

    root = ET.Element(name("div", False))
    stack: list[tuple[str, ET.Element | None, bool]] = [("div", root, False)]  # tag, element, in math
    skipping = [0]

    def add_text(text: str) -> None:
        parent = next(element for _, element, _ in reversed(stack) if element is not None)
        if len(parent):
            parent[-1].tail = (parent[-1].tail or "") + text
        else:
            parent.text = (parent.text or "") + text

    class Builder(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if skipping[0] or tag in _DROP_WITH_CONTENT:
                if tag in _DROP_WITH_CONTENT:
                    skipping[0] += 1
                return
            in_math = stack[-1][2] or tag == "math"
            kept = {k: v or "" for k, v in attrs if in_math and k != "xmlns" or k in _ALLOWED.get(tag, ())}
            link = kept.get("href", kept.get("src"))
            unsafe = tag in ("a", "img") and not (link and _SAFE_LINK.match(link))  # javascript:, file:
            if in_math or (tag in _ALLOWED and not unsafe):
                if tag == "img":
                    kept.setdefault("alt", "figure")
                parent = next(element for _, element, _ in reversed(stack) if element is not None)
                element = ET.SubElement(parent, name(tag, in_math), kept)
            else:
                element = None  # unwrapped: its text goes to the enclosing element
            if tag not in _VOID:
                stack.append((tag, element, in_math))

        def handle_startendtag(self, tag, attrs):
            self.handle_starttag(tag, attrs)
            if tag not in _VOID and not skipping[0] and stack[-1][0] == tag:
                stack.pop()

        def handle_endtag(self, tag):
            if tag in _DROP_WITH_CONTENT:
                skipping[0] = max(0, skipping[0] - 1)
                return
            if skipping[0]:
                return
            for depth in range(len(stack) - 1, 0, -1):
                if stack[depth][0] == tag:
                    del stack[depth:]
                    return

        def handle_data(self, data):
            if not skipping[0]:
                add_text(data)

    builder = Builder(convert_charrefs=True)
    builder.feed(fragment)
    builder.close()
    return [root]


def clean_html(fragment: str) -> str:
    """The fragment with only the allowed markup, as HTML text (for Moodle's HTML fields)."""
    import xml.etree.ElementTree as ET

    div = html_elements(fragment)[0]
    return html.escape(div.text or "", quote=False) + "".join(
        ET.tostring(child, encoding="unicode", method="xml") for child in div)


def plain_text(text: str) -> str:
    """A name or title for a plain-text field: the words of any markup in it, on one line."""
    return " ".join("".join(html_elements(text)[0].itertext()).split())
