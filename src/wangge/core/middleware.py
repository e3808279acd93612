"""Language: Simplified Chinese unless the user chose otherwise on the page."""

from __future__ import annotations


class ChineseByDefaultMiddleware:
    """Drop the browser's Accept-Language so the default is zh-hans, not the browser's.

    Staff often use borrowed or English-configured machines; the platform speaks Chinese
    until someone picks English in the language switch (a cookie LocaleMiddleware honours).
    Must run before ``django.middleware.locale.LocaleMiddleware``.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)
