from django.apps import AppConfig
from django.contrib.auth import get_user_model
from django.db.models.signals import post_save


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from accounts.services import revoke_tokens_after_password_change

        post_save.connect(revoke_tokens_after_password_change, sender=get_user_model(), dispatch_uid="revoke-tokens")
