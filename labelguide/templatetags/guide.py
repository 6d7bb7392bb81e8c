"""{% guide_link wnid %}: a wnid shown in a page, linked to its guide page in the side panel."""

from django import template
from django.utils.html import format_html

import taxonomy
from labelguide.rendering import class_page_path

register = template.Library()


@register.simple_tag
def guide_link(wnid, text=None):
    """A link that guide-panel.js opens in the side panel (a plain link to the page without JavaScript);
    its text is the wnid unless given."""
    css_class = "guide-link" if text else "guide-link guide-link--wnid"
    if not taxonomy.is_class(wnid):
        return format_html('<span class="{}">{}</span>', css_class, text or wnid)
    return format_html(
        '<a class="{}" href="{}" data-guide-wnid="{}" title="{}: open its guide page">{}</a>',
        css_class,
        class_page_path(wnid),
        wnid,
        taxonomy.label(wnid),
        text or wnid,
    )


@register.filter
def synset_label(wnid):
    return taxonomy.label(wnid) if taxonomy.exists(wnid) else wnid
