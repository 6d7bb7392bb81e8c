"""Markdown to HTML for guide pages, safe to put in a page as it is.

CommonMark with tables and strikethrough, raw HTML off: tags are shown as text, never passed on,
and markdown-it's link check drops javascript:, vbscript:, file: and non-image data: URLs. On top:
links to class pages (/guide/wnid/<wnid>/) and bare class wnids in the text open the guide side
panel (data-guide-wnid), and links to other sites open in a new tab without handing them our page.
"""

import re
from functools import cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

import taxonomy
from taxonomy.wnids import WNID

CLASS_PAGE_PATH = re.compile(rf"^/guide/wnid/({WNID})/?$")
BARE_WNID = re.compile(rf"\b{WNID}\b")
EXTERNAL_URL = re.compile(r"^(https?:)?//", re.IGNORECASE)


def class_page_path(wnid):
    """The address of a class's guide page: the one form of wnid link in the whole app."""
    return f"/guide/wnid/{wnid}/"


def _render_link_open(self, tokens, idx, options, env):
    token = tokens[idx]
    href = token.attrGet("href") or ""
    class_link = CLASS_PAGE_PATH.match(href)
    if class_link and taxonomy.is_class(class_link.group(1)):
        token.attrSet("data-guide-wnid", class_link.group(1))
    elif EXTERNAL_URL.match(href):
        token.attrSet("rel", "nofollow noopener noreferrer")
        token.attrSet("target", "_blank")
    return self.renderToken(tokens, idx, options, env)


def _render_image(self, tokens, idx, options, env):
    tokens[idx].attrSet("loading", "lazy")
    return self.image(tokens, idx, options, env)


def _wnid_link_tokens(text, level):
    """The tokens of a text with each class wnid in it made a link to its class page, or None if it has none."""
    pieces, at = [], 0
    for match in BARE_WNID.finditer(text):
        wnid = match.group(0)
        if not taxonomy.is_class(wnid):
            continue
        if match.start() > at:
            pieces.append(_text_token(text[at : match.start()], level))
        link_open = Token("link_open", "a", 1, level=level)
        link_open.attrs = {"href": class_page_path(wnid), "title": taxonomy.label(wnid)}
        pieces += [link_open, _text_token(wnid, level + 1), Token("link_close", "a", -1, level=level)]
        at = match.end()
    if not pieces:
        return None
    if at < len(text):
        pieces.append(_text_token(text[at:], level))
    return pieces


def _text_token(content, level):
    token = Token("text", "", 0, level=level)
    token.content = content
    return token


def _link_bare_wnids(state):
    """Core rule: a class wnid written in the text links to its guide page (not inside links or code)."""
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children, inside_link = [], 0
        for token in block.children:
            if token.type == "link_open":
                inside_link += 1
            elif token.type == "link_close":
                inside_link -= 1
            replaced = None
            if token.type == "text" and not inside_link and BARE_WNID.search(token.content):
                replaced = _wnid_link_tokens(token.content, token.level)
            children.extend(replaced or [token])
        block.children = children


@cache
def _markdown():
    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    md.add_render_rule("link_open", _render_link_open)
    md.add_render_rule("image", _render_image)
    md.core.ruler.push("guide_wnid_links", _link_bare_wnids)
    return md


def render_markdown(text):
    """Inert HTML for a guide page's Markdown."""
    return _markdown().render(text or "")
