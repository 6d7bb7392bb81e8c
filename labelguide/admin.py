from django.contrib import admin

from annotate.admin import ReadOnlyAdmin
from labelguide.models import Attachment, GuidePage, PageClass, Revision


class PageClassInline(admin.TabularInline):
    model = PageClass
    extra = 0
    can_delete = False
    readonly_fields = ["wnid", "position"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(GuidePage)
class GuidePageAdmin(admin.ModelAdmin):
    """For looking up and deleting pages: their content changes in the guide's editor, where each change
    becomes a revision."""

    list_display = ["title", "slug", "kind", "updated_at", "updated_by"]
    list_filter = ["kind"]
    search_fields = ["title", "slug", "body"]
    readonly_fields = ["slug", "title", "kind", "body", "generated", "created_at", "updated_at", "updated_by"]
    list_select_related = ["updated_by"]
    inlines = [PageClassInline]

    def has_add_permission(self, request):
        return False

    def get_deleted_objects(self, objs, request):
        # A page's classes and revisions go with it, although none of them may be deleted on its own.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed -= {PageClass._meta.verbose_name, Revision._meta.verbose_name}
        return deleted, counts, perms_needed, protected


@admin.register(PageClass)
class PageClassAdmin(ReadOnlyAdmin):
    list_display = ["wnid", "page", "position"]
    search_fields = ["wnid", "page__title"]
    raw_id_fields = ["page"]
    list_select_related = ["page"]


@admin.register(Revision)
class RevisionAdmin(ReadOnlyAdmin):
    list_display = ["page", "title", "author", "created_at", "restored_from"]
    search_fields = ["page__title", "title"]
    list_select_related = ["page", "author", "restored_from"]


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ["name", "page", "content_type", "width", "height", "size", "uploaded_by", "created_at"]
    list_filter = ["content_type"]
    search_fields = ["name", "page__title", "sha256"]
    readonly_fields = ["file", "content_type", "size", "width", "height", "sha256", "uploaded_by", "created_at"]
    raw_id_fields = ["page"]
    list_select_related = ["page", "uploaded_by"]
