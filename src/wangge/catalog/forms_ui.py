"""Forms of the catalogue pages: a dataset and its fields, publishing, a request, a decision.

They only turn input into values; ``service`` checks them against the rules and says what
is wrong (its ``Invalid.field`` lands on the matching form field).
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from wangge.accounts.models import Department
from wangge.registry.models import TagDefinition

from .catalogue import DatasetInput
from .fields import standard_fields
from .models import Dataset, Entity, Frequency, SharingClass
from .service import DAYS_MAX, DAYS_MIN, PURPOSE_MAX


def _field_choices() -> list[tuple[str, str]]:
    return [(f.code, f"{f.label} ({f.code})") for f in standard_fields().values()]


class DatasetForm(forms.Form):
    """A dataset's description and its standard fields (``carried``, ``required``)."""

    code = forms.SlugField(label=_("code"), max_length=60,
                           help_text=_("Lowercase letters, digits and dashes; fixed once "
                                       "saved (grants and imports name it)."))
    name = forms.CharField(label=_("name"), max_length=120)
    department = forms.ModelChoiceField(label=_("owning department"),
                                        queryset=Department.objects.none())
    description = forms.CharField(label=_("description"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    entity = forms.ChoiceField(label=_("describes"), choices=Entity.choices)
    sharing_class = forms.ChoiceField(label=_("sharing class"), choices=SharingClass.choices)
    sharing_conditions = forms.CharField(
        label=_("sharing conditions"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when shared on conditions: who may use it, for what."))
    frequency = forms.ChoiceField(label=_("update frequency"), choices=Frequency.choices)
    retention_days = forms.IntegerField(label=_("retention (days)"), required=False,
                                        min_value=1, max_value=36500)
    trust = forms.IntegerField(label=_("trust rank"), min_value=0, max_value=100, initial=50,
                               help_text=_("Higher wins when sources disagree on a person."))
    is_active = forms.BooleanField(label=_("active"), required=False, initial=True)
    carried = forms.MultipleChoiceField(label=_("fields"), required=False,
                                        widget=forms.CheckboxSelectMultiple)
    required = forms.MultipleChoiceField(label=_("required"), required=False,
                                         widget=forms.CheckboxSelectMultiple)

    def __init__(self, user, *args, dataset: Dataset | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.dataset = user, dataset
        choices = _field_choices()
        self.fields["carried"].choices = choices
        self.fields["required"].choices = choices
        if user.role == "admin":
            self.fields["department"].queryset = Department.objects.filter(
                is_active=True).order_by("code")
        else:
            del self.fields["department"]  # a steward's datasets stay his department's
        if dataset is not None:
            del self.fields["code"]

    @staticmethod
    def initial_for(dataset: Dataset) -> dict:
        fields = list(dataset.fields.all())
        return {"name": dataset.name, "department": dataset.department_id,
                "description": dataset.description, "entity": dataset.entity,
                "sharing_class": dataset.sharing_class,
                "sharing_conditions": dataset.sharing_conditions,
                "frequency": dataset.frequency, "retention_days": dataset.retention_days,
                "trust": dataset.trust, "is_active": dataset.is_active,
                "carried": [f.field_code for f in fields],
                "required": [f.field_code for f in fields if f.required]}

    def clean(self):
        data = super().clean()
        carried, required = data.get("carried") or [], data.get("required") or []
        loose = [c for c in required if c not in carried]
        if loose:
            self.add_error("required", _("A required field must be one the dataset carries: "
                                         "%(codes)s.") % {"codes": ", ".join(loose)})
        return data

    def rows(self) -> list[dict]:
        """The standard fields as table rows: carried, required and compatible or not."""
        carried = set(self["carried"].value() or [])
        required = set(self["required"].value() or [])
        return [{"spec": f, "carried": f.code in carried, "required": f.code in required}
                for f in standard_fields().values()]

    def to_input(self) -> DatasetInput:
        data = self.cleaned_data
        order = [f.field_code for f in self.dataset.fields.all()] if self.dataset else []
        carried = data["carried"]
        ordered = [c for c in order if c in carried] + [c for c in carried if c not in order]
        required = set(data["required"])
        department = data.get("department")
        return DatasetInput(
            code=data.get("code", ""), name=data["name"],
            department_id=department.pk if department else None,
            entity=data["entity"], sharing_class=data["sharing_class"],
            sharing_conditions=data["sharing_conditions"], description=data["description"],
            frequency=data["frequency"], retention_days=data["retention_days"],
            trust=data["trust"] if data["trust"] is not None else 50,
            is_active=data["is_active"], fields=[(c, c in required) for c in ordered])


class PublishForm(forms.Form):
    """Publish to grids (数据下沉) and the tag the dataset gives its persons."""

    flows_down = forms.BooleanField(label=_("published to grids"), required=False)
    tag = forms.ModelChoiceField(label=_("tag given to its persons"), required=False,
                                 queryset=TagDefinition.objects.none())

    def __init__(self, *args, tags=None, **kwargs):
        super().__init__(*args, **kwargs)
        if tags is not None:
            self.fields["tag"].queryset = tags


class RequestForm(forms.Form):
    """A department's request for a dataset: purpose, fields (none ticked: all), days."""

    purpose = forms.CharField(label=_("purpose"), max_length=PURPOSE_MAX,
                              widget=forms.Textarea(attrs={"rows": 4}),
                              help_text=_("What the data is for, in at least a sentence: "
                                          "the owner decides on it."))
    # Not "fields": that name is the form's own field table.
    fields_asked = forms.MultipleChoiceField(label=_("fields"), required=False,
                                             widget=forms.CheckboxSelectMultiple,
                                             help_text=_("None ticked: every field."))
    days = forms.IntegerField(label=_("days asked for"), min_value=DAYS_MIN,
                              max_value=DAYS_MAX, initial=90)

    def __init__(self, dataset: Dataset, *args, **kwargs):
        super().__init__(*args, **kwargs)
        known = standard_fields()
        self.fields["fields_asked"].choices = [
            (c, known[c].label if c in known else c) for c in dataset.field_codes()]


class DecisionForm(forms.Form):
    note = forms.CharField(label=_("note"), required=False, max_length=1000,
                           widget=forms.Textarea(attrs={"rows": 2}))
