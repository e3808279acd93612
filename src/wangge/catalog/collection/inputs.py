"""The pages' input forms: building a collection form and answering one target.

They only gather what was typed; every rule (which dataset, which area, what a value must
look like) is checked by the services, whose errors are put back beside the inputs.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from wangge.catalog.fields import get_field
from wangge.regions.models import Level

from . import prefill, service

# Areas offered in the build page's list: down to communities (a district has too many grids
# for a list; a grid's code can still be typed through the API).
AREA_LEVEL_MAX = Level.COMMUNITY
AREA_CHOICES_MAX = 500


class BuildForm(forms.Form):
    """A collection form's name, dataset, fields, area, targets and due date."""

    name = forms.CharField(label=_("Name"), max_length=service.NAME_MAX)
    matter = forms.TypedChoiceField(label=_("Grid matter item"), coerce=int,
                                    help_text=_("Only items admitted to the grid matters list "
                                                "may be sent to grids."))
    dataset = forms.ChoiceField(label=_("Dataset the answers go to"))
    fields = forms.MultipleChoiceField(label=_("Fields to collect"),
                                       widget=forms.CheckboxSelectMultiple)
    region = forms.ChoiceField(label=_("Area"))
    target_tag = forms.ChoiceField(label=_("Persons carrying the tag"), required=False)
    target_dataset = forms.ChoiceField(label=_("…or persons held by the dataset"),
                                       required=False)
    due_on = forms.DateField(label=_("Due on"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dataset"].choices = [(d.code, d.name) for d in service.own_datasets(user)]
        self.fields["matter"].choices = [("", "—")] + [
            (i.pk, i.name) for i in service.admitted_items(user)]
        self.fields["fields"].choices = [(c, get_field(c).label)
                                         for c in prefill.person_field_codes()]
        areas = service.areas(user).filter(level__lte=AREA_LEVEL_MAX).order_by("path")
        self.fields["region"].choices = [(r.code, f"{r.name} ({r.code})")
                                         for r in areas[:AREA_CHOICES_MAX]]
        none = [("", "—")]
        self.fields["target_tag"].choices = none + [(t.code, t.name)
                                                    for t in service.target_tags(user)]
        self.fields["target_dataset"].choices = none + [
            (d.code, f"{d.name} ({d.department.name})") for d in service.target_datasets(user)]

    def spec(self) -> service.FormSpec:
        data = self.cleaned_data
        return service.FormSpec(name=data["name"], dataset=data["dataset"],
                                fields=list(data["fields"]), region=data["region"],
                                target_tag=data.get("target_tag") or "",
                                target_dataset=data.get("target_dataset") or "",
                                due_on=data["due_on"], matter=data.get("matter"))

    def show_errors(self, errors: dict[str, str]) -> None:
        """The service's errors beside the inputs they name (the rest above the form)."""
        for name, message in errors.items():
            self.add_error(name if name in self.fields else None, message)

    @staticmethod
    def initial_for(form) -> dict:
        return {"name": form.name, "matter": form.matter_id, "dataset": form.dataset.code,
                "fields": form.fields,
                "region": form.region.code,
                "target_tag": form.target_tag.code if form.target_tag_id else "",
                "target_dataset": form.target_dataset.code if form.target_dataset_id else "",
                "due_on": form.due_on}


def _widget(code: str) -> forms.Widget:
    spec = get_field(code)
    if spec.kind == "date":
        return forms.DateInput(attrs={"type": "date"})
    if spec.kind == "choice":
        return forms.Select(choices=[("", "—"), *spec.choices.items()])
    if spec.kind == "int":
        return forms.NumberInput(attrs={"min": 0, "step": 1, "inputmode": "numeric"})
    if spec.kind == "float":
        return forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"})
    if spec.protected_kind == "phone":
        return forms.TextInput(attrs={"type": "tel", "inputmode": "tel",
                                      "autocomplete": "off"})
    return forms.TextInput(attrs={"maxlength": spec.max_length, "autocomplete": "off"})


class AnswerForm(forms.Form):
    """Inputs for the asked fields only; the hidden key makes a double submit harmless."""

    key = forms.CharField(widget=forms.HiddenInput, max_length=80)
    edit = forms.BooleanField(widget=forms.HiddenInput, required=False)

    def __init__(self, asked: list[str], *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        for code in asked:
            spec = get_field(code)
            help_text = _("Leave empty to keep the value given before.") if editing else ""
            self.fields[code] = forms.CharField(label=spec.label, required=False,
                                                widget=_widget(code), help_text=help_text)
        self.asked = asked

    def values(self) -> dict[str, str]:
        return {code: self.cleaned_data.get(code) or "" for code in self.asked}

    def show_errors(self, errors: dict[str, str]) -> None:
        for name, message in errors.items():
            self.add_error(name if name in self.fields else None, message)
