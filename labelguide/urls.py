from django.urls import path, register_converter

from labelguide import api, views


class WnidConverter:
    regex = "n[0-9]{8}"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(WnidConverter, "wnid")

api_urlpatterns = [
    path("pages/", api.PageList.as_view(), name="api-guide-pages"),
    path("pages/<slug:slug>/", api.PageDetail.as_view(), name="api-guide-page"),
    path("pages/<slug:slug>/revisions/", api.PageRevisions.as_view(), name="api-guide-revisions"),
    path(
        "pages/<slug:slug>/revisions/<int:pk>/restore/",
        api.RevisionRestore.as_view(),
        name="api-guide-revision-restore",
    ),
    path("pages/<slug:slug>/attachments/", api.AttachmentUpload.as_view(), name="api-guide-attachments"),
    path("wnids/<str:wnid>/", api.ClassPage.as_view(), name="api-guide-class"),
    path("preview/", api.Preview.as_view(), name="api-guide-preview"),
]

# Fixed paths first: a page slug never takes one of them (services.RESERVED_SLUGS).
page_urlpatterns = [
    path("", views.guide_index, name="guide"),
    path("new/", views.page_new, name="guide-new"),
    path("classes/", views.class_list, name="guide-classes"),
    path("wnid/<wnid:wnid>/", views.class_redirect, name="guide-class"),
    path("attachments/<int:pk>/", views.attachment_file, name="guide-attachment"),
    path("<slug:slug>/", views.page_detail, name="guide-page"),
    path("<slug:slug>/edit/", views.page_edit, name="guide-edit"),
    path("<slug:slug>/history/", views.page_history, name="guide-history"),
]
