"""Forms of the grid matters pages; ``service`` does the checking that matters."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from wangge.catalog.fields import standard_fields

from .models import Frequency


def _field_choices() -> list[tuple[str, str]]:
    return [(f.code, f"{f.label} ({f.code})") for f in standard_fields().values()]


class ApplyForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=120)
    basis = forms.CharField(label=_("legal or policy basis"), widget=forms.Textarea(
        attrs={"rows": 2}))
    duties = forms.CharField(label=_("what grid workers do"), widget=forms.Textarea(
        attrs={"rows": 2}))
    frequency = forms.ChoiceField(label=_("frequency"), choices=Frequency.choices)
    fields = forms.MultipleChoiceField(label=_("catalogue fields collected"), required=False,
                                       widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["fields"].choices = _field_choices()
