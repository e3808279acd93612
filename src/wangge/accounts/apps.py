from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "wangge.accounts"
    label = "accounts"
