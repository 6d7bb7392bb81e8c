from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.api import AuthToken
from accounts.forms import RateLimitedAuthenticationForm
from annotate import urls as annotate_urls
from config import errors
from consensus import urls as consensus_urls
from evaluation import urls as evaluation_urls
from finalreview import urls as finalreview_urls
from interchange import urls as interchange_urls
from labelguide import urls as labelguide_urls
from nearduplicates import urls as nearduplicates_urls
from taxonomy import urls as taxonomy_urls
from testsets import urls as testsets_urls
from training import urls as training_urls

urlpatterns = [
    path("admin/", admin.site.urls),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="frontend/login.html", authentication_form=RateLimitedAuthenticationForm
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/", include(consensus_urls.api_urlpatterns)),
    path("api/", include(annotate_urls.api_urlpatterns)),
    path("api/", include(interchange_urls.api_urlpatterns)),
    path("api/", include(taxonomy_urls.api_urlpatterns)),
    path("api/", include(testsets_urls.api_urlpatterns)),
    path("api/testsets/<slug:name>/near-duplicates/", include(nearduplicates_urls.api_urlpatterns)),
    path("api/testsets/<slug:name>/revisions/<int:number>/review/", include(finalreview_urls.api_urlpatterns)),
    path("api/guide/", include(labelguide_urls.api_urlpatterns)),
    path("api/training/", include(training_urls.api_urlpatterns)),
    path("api/evaluation/", include(evaluation_urls.api_urlpatterns)),
    path("api/auth/token/", AuthToken.as_view(), name="api-token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file (?script), not inline: the CSP allows only files.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="frontend/api_docs.html"),
        name="api-docs",
    ),
    path("guide/", include(labelguide_urls.page_urlpatterns)),
    path("training/", include(training_urls.page_urlpatterns)),
    path("evaluation/", include(evaluation_urls.page_urlpatterns)),
    path("testsets/<slug:name>/near-duplicates/", include(nearduplicates_urls.page_urlpatterns)),
    path("testsets/<slug:name>/revisions/<int:number>/review/", include(finalreview_urls.page_urlpatterns)),
    path("testsets/", include(testsets_urls.page_urlpatterns)),
    path("", include(consensus_urls.page_urlpatterns)),
    path("", include(annotate_urls.page_urlpatterns)),
    # Any other address ending in a slash, outside the API, is the app's 404 page, even while DEBUG is on (without
    # a slash, CommonMiddleware first adds one).
    re_path(r"^(?!api/|admin/|static/|media/).*/$", errors.page_not_found),
]

handler400 = "config.security.bad_request"
handler403 = "config.errors.permission_denied"
handler404 = "config.errors.page_not_found"
