"""The role checks of accounts.roles as template filters: `{% load roles %}{% if user|can_annotate %}`."""

from django import template

from accounts import roles

register = template.Library()
register.filter("can_annotate", roles.can_annotate)
register.filter("is_admin", roles.is_admin)
register.filter("annotator_only", roles.annotator_only)
