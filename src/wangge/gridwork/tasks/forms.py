"""Forms of the task pages — 任务表单: a new task, and one target's answer.

They only gather what was typed and offer sensible choices; every rule (the gate of the
matters list, fields the item collects, areas inside the area, kind rules) is the service's,
whose refusals are put back beside the input they name.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from wangge.accounts.scope import visible_to
from wangge.catalog.fields import get_field
from wangge.gridwork.models import ON_LIST, Frequency, MatterItem, TargetKind, TaskKind
from wangge.privacy.errors import InvalidValue
from wangge.regions.models import Level, Region
from wangge.registry.models import HouseUsage, PlaceKind

# Areas offered in the lists; a district in the L city has tens of thousands of grids, so
# grids are offered only while the whole list stays readable (the API takes any region id).
AREA_CHOICES_MAX = 500
# The task's area: from the district down to a community.
REGION_LEVELS = (Level.CITY, Level.COUNTY, Level.TOWNSHIP, Level.COMMUNITY)
# The chosen parts of it: streets, communities and (when few) grids.
AREA_LEVELS = (Level.TOWNSHIP, Level.COMMUNITY, Level.GRID)
# Repeats offered for an inspection (daily rounds and "as needed" are not rounds).
RECURRENCES = (Frequency.WEEKLY, Frequency.MONTHLY, Frequency.QUARTERLY, Frequency.YEARLY)

# The service names what it refuses by its own argument names; the form's inputs differ.
SERVICE_FIELDS = {"matter_id": "matter", "matter": "matter", "region_id": "region",
                  "target_filter": "target_kind", "place_kinds": "place_kinds",
                  "house_usage": "house_usage"}


def field_label(code: str) -> str:
    """A catalogue field's label in the reader's language; an unknown code shows as is."""
    try:
        return get_field(code).label
    except InvalidValue:
        return code


def admitted_items(user):
    """The user's department's items on the list: the only ones worth offering."""
    return (visible_to(MatterItem, user)
            .filter(department_id=user.department_id, status__in=ON_LIST)
            .order_by("name"))


class OfferedChoiceField(forms.ChoiceField):
    """A select whose choices are an offer, not the rule: any value goes to the service,
    whose refusal (e.g. the matters list gate) says in words what is wrong with it."""

    def valid_value(self, value) -> bool:
        return True


def _region_label(region: Region) -> str:
    return f"{'— ' * max(0, region.level - Level.COUNTY)}{region.name}"


class TaskForm(forms.Form):
    """A new task, inspection or campaign, saved as a draft."""

    kind = forms.ChoiceField(label=_("kind"), choices=TaskKind.choices,
                             widget=forms.RadioSelect, initial=TaskKind.CAMPAIGN)
    title = forms.CharField(label=_("title"), max_length=120)
    instructions = forms.CharField(label=_("instructions"), required=False,
                                   widget=forms.Textarea(attrs={"rows": 3}))
    matter = OfferedChoiceField(label=_("matter item"))
    region = forms.TypedChoiceField(label=_("area"), coerce=int)
    areas = forms.TypedMultipleChoiceField(
        label=_("only these parts of the area"), coerce=int, required=False,
        help_text=_("Leave empty for the whole area. Hold Ctrl to choose several."))
    target_kind = forms.ChoiceField(label=_("targets"), choices=TargetKind.choices)
    place_kinds = forms.MultipleChoiceField(label=_("place kinds"), required=False,
                                            choices=PlaceKind.choices,
                                            widget=forms.CheckboxSelectMultiple)
    house_usage = forms.MultipleChoiceField(label=_("house use"), required=False,
                                            choices=HouseUsage.choices,
                                            widget=forms.CheckboxSelectMultiple)
    fields = forms.MultipleChoiceField(label=_("fields asked"), required=False,
                                       widget=forms.CheckboxSelectMultiple)
    recurrence = forms.ChoiceField(label=_("repeats"), required=False)
    starts_on = forms.DateField(label=_("starts on"),
                                widget=forms.DateInput(attrs={"type": "date"}))
    due_on = forms.DateField(label=_("due on"), required=False,
                             widget=forms.DateInput(attrs={"type": "date"}))
    remind_days = forms.IntegerField(label=_("remind days before the deadline"), min_value=0,
                                     max_value=30, initial=2)

    def __init__(self, user, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.items = list(admitted_items(user))
        self.fields["matter"].choices = [("", "—")] + [(str(i.pk), i.name) for i in self.items]
        regions = visible_to(Region, user).order_by("path")
        self.fields["region"].choices = [
            (r.pk, _region_label(r))
            for r in regions.filter(level__in=REGION_LEVELS)[:AREA_CHOICES_MAX]]
        parts = regions.filter(level__in=AREA_LEVELS[:2])
        if regions.filter(level__in=AREA_LEVELS).count() <= AREA_CHOICES_MAX:
            parts = regions.filter(level__in=AREA_LEVELS)
        self.fields["areas"].choices = [(r.pk, _region_label(r))
                                        for r in parts[:AREA_CHOICES_MAX]]
        codes: list[str] = []
        for item in self.items:
            codes.extend(c for c in item.fields if c not in codes)
        self.fields["fields"].choices = [(c, field_label(c)) for c in codes]
        self.fields["recurrence"].choices = [("", "—")] + [
            (f.value, f.label) for f in RECURRENCES]

    def matter_groups(self) -> list[dict]:
        """The fields each item collects, for the template to show the chosen item's only."""
        chosen = set(self["fields"].value() or [])
        return [{"item": item, "fields": [
            {"code": c, "label": field_label(c), "checked": c in chosen} for c in item.fields]}
            for item in self.items]

    def arguments(self) -> dict:
        """The service's keyword arguments for ``create_task``."""
        data = self.cleaned_data
        target_filter: dict[str, list[str]] = {}
        if data.get("place_kinds"):
            target_filter["place_kinds"] = list(data["place_kinds"])
        if data.get("house_usage"):
            target_filter["house_usage"] = list(data["house_usage"])
        return {"kind": data["kind"], "title": data["title"],
                "instructions": data.get("instructions") or "",
                "matter_id": data["matter"], "region_id": data["region"],
                "areas": tuple(data.get("areas") or ()), "target_kind": data["target_kind"],
                "target_filter": target_filter or None, "fields": tuple(data.get("fields") or ()),
                "recurrence": data.get("recurrence") or "", "starts_on": data["starts_on"],
                "due_on": data.get("due_on"), "remind_days": data["remind_days"]}

    def show_refusal(self, field: str, message: str) -> None:
        """A service refusal beside the input it names (above the form otherwise)."""
        name = SERVICE_FIELDS.get(field, field)
        self.add_error(name if name in self.fields else None, message)


# How each kind of catalogue field is typed on a phone.
WIDGETS = {
    "date": lambda spec: forms.DateInput(attrs={"type": "date"}),
    "choice": lambda spec: forms.Select(choices=[("", "—"), *spec.choices.items()]),
    "int": lambda spec: forms.NumberInput(attrs={"min": 0, "step": 1, "inputmode": "numeric"}),
    "float": lambda spec: forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
}


def _widget(code: str) -> forms.Widget:
    spec = get_field(code)
    make = WIDGETS.get(spec.kind)
    if make is not None:
        return make(spec)
    return forms.TextInput(attrs={"maxlength": spec.max_length, "autocomplete": "off"})


class TargetForm(forms.Form):
    """One target's answer: the task's fields, done or could not be done, a note. The hidden
    key is made when the page is drawn, so a double submit or a retry is applied once."""

    key = forms.CharField(widget=forms.HiddenInput, max_length=80)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    status = forms.ChoiceField(label=_("outcome"), widget=forms.RadioSelect, choices=[
        ("done", _("done")), ("unable", _("could not be done"))], initial="done")
    note = forms.CharField(label=_("note"), required=False, max_length=1000,
                           widget=forms.Textarea(attrs={"rows": 2}),
                           help_text=_("Required when it could not be done: say why."))

    def __init__(self, asked: list[str], *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.asked = list(asked)
        for code in self.asked:
            self.fields[code] = forms.CharField(label=field_label(code), required=False,
                                                widget=_widget(code))
        # Inputs in reading order: the answers first, then the outcome and the note.
        order = [*self.asked, "status", "note", "key", "version"]
        self.order_fields(order)

    def result(self) -> dict[str, str]:
        return {c: self.cleaned_data.get(c) or "" for c in self.asked
                if self.cleaned_data.get(c) not in (None, "")}

    def show_refusal(self, field: str, message: str) -> None:
        self.add_error(field if field in self.fields else None, message)
