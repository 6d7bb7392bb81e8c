from django import forms
from django.contrib.auth.forms import AuthenticationForm

from accounts import services


class RateLimitedAuthenticationForm(AuthenticationForm):
    """Django's login form, with the attempts per username and address limited (accounts.services)."""

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            try:
                self.user_cache = services.authenticate_within_limit(
                    request=self.request, username=username, password=password
                )
            except services.LoginLocked as exc:
                raise forms.ValidationError(str(exc), code="locked") from exc
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data
