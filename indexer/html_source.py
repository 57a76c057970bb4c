"""HTML papers → the line-oriented text the structure parser reads (real parser, no regexes)."""

from __future__ import annotations

from bs4 import BeautifulSoup, NavigableString, Tag

_BLOCK_TAGS = {"p", "div", "section", "article", "main", "header", "footer", "blockquote", "pre", "dl", "dt", "dd"}
_DROP_TAGS = {"script", "style", "head", "noscript", "template", "iframe", "object", "svg"}


def _inline_text(node: Tag) -> str:
    parts: list[str] = []
    for child in node.descendants:
        if isinstance(child, NavigableString) and not any(
            p.name in _DROP_TAGS for p in child.parents if isinstance(p, Tag)
        ):
            parts.append(str(child))
        elif isinstance(child, Tag) and child.name == "br":
            parts.append(" ")
    return " ".join("".join(parts).split())


def _cell_text(cell: Tag) -> str:
    items = cell.find_all("li")
    if items:  # a list inside a table cell becomes one line per item
        return " • ".join(_inline_text(li) for li in items)
    return _inline_text(cell)


def _walk(node: Tag, out: list[str]) -> None:
    for child in node.children:
        if isinstance(child, NavigableString):
            text = " ".join(str(child).split())
            if text:
                out.append(text + "\n")
            continue
        if not isinstance(child, Tag) or child.name in _DROP_TAGS:
            continue
        name = child.name
        if name in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            out.append("\n" + "#" * int(name[1]) + " " + _inline_text(child) + "\n\n")
        elif name == "table":
            out.append("\n")
            for row in child.find_all("tr"):
                cells = row.find_all(["td", "th"])
                out.append("\t".join(_cell_text(c) for c in cells) + "\n")
            out.append("\n")
        elif name in {"ul", "ol"}:
            out.append("\n")
            for li in child.find_all("li", recursive=False):
                out.append("- " + _inline_text(li) + "\n")
            out.append("\n")
        elif name == "br":
            out.append("\n")
        elif name in _BLOCK_TAGS or name in {"body", "html"}:
            if any(
                isinstance(c, Tag)
                and (c.name in _BLOCK_TAGS or c.name in {"table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6"})
                for c in child.children
            ):
                _walk(child, out)
            else:
                text = _inline_text(child)
                if text:
                    out.append("\n" + text + "\n\n")
        else:
            text = _inline_text(child)
            if text:
                out.append(text + "\n")


def html_to_text(raw: str) -> str:
    soup = BeautifulSoup(raw, "html.parser")
    root = soup.body or soup
    out: list[str] = []
    _walk(root, out)
    return "".join(out)
