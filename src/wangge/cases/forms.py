"""Forms of the case pages: the report (上报) and one small form per workflow action.

They only shape input (types, lengths, which fields exist); every rule about cases — who may,
in which state, what counts as evidence — is the engine's, and its refusals are shown on the
same forms. Which inputs an action asks for comes from its ``needs`` in
``workflow.TRANSITIONS``, never from a list kept here.
"""

from __future__ import annotations

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from wangge.accounts.models import Department

from .models import Case, Category, Urgency
from .workflow import Transition

MAX_TEXT = 5000
CAMERA = {"accept": "image/*", "capture": "environment"}
# Inputs an action reads when given but does not need (the table lists only what it needs):
# a report-in may say who came, an approval may grant fewer days, a rating may say why.
OPTIONAL_INPUTS: dict[str, tuple[str, ...]] = {
    "report_in": ("note",),
    "approve_extension": ("days",),
    "rate": ("comment",),
}


def new_idempotency_key() -> str:
    """A fresh key for one report form: a double submit of that form files one case."""
    return uuid.uuid4().hex


def photo_ids(raw: str) -> list[int]:
    """"12,13" → [12, 13]; anything that is not a positive number is dropped."""
    return [int(p) for p in (raw or "").replace(" ", "").split(",") if p.isdigit() and int(p) > 0]


def category_label(category: Category, language: str) -> str:
    if language.startswith("en") and category.name_en:
        return category.name_en
    return category.name


def category_tree(categories, language: str) -> list[dict]:
    """The two-level tree for the picker: parents in order, each with its children."""
    rows = list(categories)
    children: dict[int, list[dict]] = {}
    for c in rows:
        if c.parent_id is not None:
            children.setdefault(c.parent_id, []).append(
                {"code": c.code, "name": category_label(c, language)})
    return [{"code": c.code, "name": category_label(c, language),
             "children": children.get(c.pk, [])}
            for c in rows if c.parent_id is None]


class ReportForm(forms.Form):
    """A case report. Residents get the simple version: no urgency, no on-the-spot fix."""

    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=80)
    category = forms.ChoiceField(label=_("Category"))
    title = forms.CharField(label=_("What is wrong"), max_length=200)
    description = forms.CharField(label=_("Details"), required=False, max_length=MAX_TEXT,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices,
                                initial=Urgency.NORMAL)
    lon = forms.FloatField(required=False, widget=forms.HiddenInput, min_value=-180,
                           max_value=180)
    lat = forms.FloatField(required=False, widget=forms.HiddenInput, min_value=-90,
                           max_value=90)
    address = forms.CharField(label=_("Address or landmark"), required=False, max_length=300)
    contact_phone = forms.CharField(label=_("Phone (optional, stored masked)"), required=False,
                                    max_length=30)
    self_handled = forms.BooleanField(label=_("I fixed it on the spot (自处置)"),
                                      required=False)
    note = forms.CharField(label=_("What I did"), required=False, max_length=MAX_TEXT,
                           widget=forms.Textarea(attrs={"rows": 2}))
    photos = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, simple: bool, can_fix: bool, categories, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.simple = simple
        leaves = {c.parent_id for c in categories if c.parent_id is not None}
        # Any active category may be filed (a parent without children too), so a choice the
        # page's picker offers is never refused here.
        self.fields["category"].choices = [("", "—")] + [
            (c.code, c.name) for c in categories if c.parent_id is not None or c.pk not in leaves]
        if simple:
            del self.fields["urgency"]
        else:
            # On patrol the matter is often raised by a resident: her number links the case
            # to her account, so she can follow and rate it.
            self.fields["contact_phone"].label = _(
                "Phone of the resident who raised it (optional, stored masked)")
        if not can_fix:
            del self.fields["self_handled"]
            del self.fields["note"]

    def clean_photos(self) -> list[int]:
        return photo_ids(self.cleaned_data.get("photos", ""))

    def intake_fields(self) -> dict:
        """What ``CaseInput`` takes from this form (photos are added by the view)."""
        data = self.cleaned_data
        out = {
            "category": data["category"], "title": data["title"],
            "description": data.get("description", ""), "address": data.get("address", ""),
            "idempotency_key": data["idempotency_key"],
            "urgency": data.get("urgency") or Urgency.NORMAL,
            "contact_phone": data.get("contact_phone", ""),
            "self_handled": bool(data.get("self_handled")), "note": data.get("note", ""),
        }
        if data.get("lon") is not None and data.get("lat") is not None:
            # The browser's GPS and the map pin both give WGS-84 (what the map draws in).
            out.update(lon=data["lon"], lat=data["lat"], crs="wgs84")
        return out


def departments_serving(case: Case):
    """Active departments at the case's node or above it: those the engine accepts."""
    codes = case.region_path.rstrip(".").split(".") if case.region_path else []
    paths = [".".join(codes[: i + 1]) + "." for i in range(len(codes))]
    return (Department.objects.filter(is_active=True, region__path__in=paths)
            .select_related("region").order_by("-region__path", "code"))


def _department_label(d: Department) -> str:
    return f"{d.name} · {d.region.name}"


class ActionForm(forms.Form):
    """One workflow action on one case; its fields are the action's ``needs``.

    The hidden ``version`` is the case version the page showed: the engine refuses the action
    if someone else acted first (optimistic lock).
    """

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, t: Transition, case: Case, *args, departments=None,
                 duplicates=(), kept_photos=(), **kwargs) -> None:
        kwargs.setdefault("prefix", t.action)
        kwargs.setdefault("label_suffix", "")
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("version", case.version)
        super().__init__(*args, **kwargs)
        self.t, self.case = t, case
        self.kept_photos = list(kept_photos)
        optional = OPTIONAL_INPUTS.get(t.action, ())
        for name in (*t.needs, *optional):
            self._add(name, required=name in t.needs, departments=departments,
                      duplicates=duplicates)

    def _add(self, name: str, *, required: bool, departments, duplicates) -> None:
        f = self.fields
        if name == "reason":
            f["reason"] = forms.CharField(label=_("Reason"), max_length=MAX_TEXT,
                                          required=required,
                                          widget=forms.Textarea(attrs={"rows": 2}))
        elif name == "note":
            f["note"] = forms.CharField(label=_("Note"), max_length=MAX_TEXT, required=required,
                                        widget=forms.Textarea(attrs={"rows": 2}))
        elif name == "comment":
            f["comment"] = forms.CharField(label=_("Comment"), max_length=MAX_TEXT,
                                           required=False,
                                           widget=forms.Textarea(attrs={"rows": 2}))
        elif name == "evidence":
            # A plain file field: the photo service judges type and size (415/413 with a
            # message), not Django's image field.
            f["evidence"] = forms.FileField(label=_("Evidence photo"), required=False,
                                            widget=forms.FileInput(attrs=CAMERA))
            f["evidence_ids"] = forms.CharField(required=False, widget=forms.HiddenInput)
            if self.kept_photos:
                self.initial["evidence_ids"] = ",".join(str(p) for p in self.kept_photos)
        elif name == "departments":
            route = self.case.route or {}
            suggested = [route.get("lead"), *route.get("assisting", [])]
            # The routing rule's suggestion first, then the nearest departments.
            depts = sorted(departments or [], key=lambda d: (
                suggested.index(d.code) if d.code in suggested else len(suggested)))
            choices = [(d.code, _department_label(d)) for d in depts]
            f["lead"] = forms.ChoiceField(label=_("Lead department (主办)"),
                                          choices=[("", "—"), *choices], required=required)
            f["assisting"] = forms.MultipleChoiceField(
                label=_("Assisting departments (协办)"), choices=choices, required=False,
                widget=forms.CheckboxSelectMultiple)
            if route.get("lead"):
                self.initial.setdefault("lead", route["lead"])
                self.initial.setdefault("assisting", route.get("assisting", []))
        elif name == "days":
            limit = 30
            if self.t.pending == "extension":
                limit = int(self.case.pending_detail.get("days") or limit)
            f["days"] = forms.IntegerField(label=_("Working days"), min_value=1,
                                           max_value=limit, required=required)
            if not required:
                f["days"].help_text = _("Leave empty to grant what was asked.")
        elif name == "rating":
            f["rating"] = forms.TypedChoiceField(
                label=_("Your rating"), coerce=int, required=required,
                choices=[(n, str(n)) for n in range(5, 0, -1)], widget=forms.RadioSelect)
        elif name == "master":
            f["master"] = forms.CharField(
                label=_("Master case number"), max_length=24, required=required,
                widget=forms.TextInput(attrs={"list": f"{self.t.action}-duplicates"}))
            self.duplicate_codes = [c.code for c in duplicates]
        else:
            # A new kind of input in the table: ask for it as text rather than drop it.
            f[name] = forms.CharField(label=name, required=required, max_length=MAX_TEXT)

    def clean(self):
        data = super().clean()
        if "evidence" in self.t.needs and not data.get("evidence") \
                and not photo_ids(data.get("evidence_ids", "")):
            self.add_error("evidence", _("Take or choose at least one photo."))
        if "lead" in self.fields and data.get("lead"):
            data["assisting"] = [c for c in data.get("assisting", []) if c != data["lead"]]
        return data

    def engine_inputs(self) -> dict:
        """The keyword inputs ``transition`` takes (evidence photos are added by the view)."""
        data = self.cleaned_data
        out = {}
        for name, value in data.items():
            if name in ("version", "evidence", "evidence_ids", "lead", "assisting"):
                continue
            if value in (None, ""):
                continue
            out[name] = value
        if data.get("lead"):
            out["departments"] = [data["lead"], *data.get("assisting", [])]
        return out

    def kept_evidence(self) -> list[int]:
        return photo_ids(self.cleaned_data.get("evidence_ids", ""))
