"""Case pages — 事件页面: report, lists for every role, the case page and its actions.

Thin on purpose. Every case is fetched through ``accounts.scope`` (``visible_to`` /
``get_visible_or_404``, directly or through ``services.list_cases``/``get_case``), so a code
from another community is a 404 exactly like one that does not exist. Every change goes
through ``services.submit_case``, ``services.add_photo`` or ``services.transition``; the
buttons on a case are ``services.allowed_transitions`` for the viewer, and which roles work a
list comes from ``workflow.TRANSITIONS`` — no page keeps its own table of who may do what.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, F, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language, gettext_lazy, pgettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from wangge.accounts.permissions import has_permission, permission_required
from wangge.accounts.roles import Role
from wangge.accounts.scope import get_visible_or_404, visible_to
from wangge.regions.models import Region

from . import services
from .deadlines import deadline_for, traffic_light
from .forms import (
    ActionForm,
    ReportForm,
    category_label,
    category_tree,
    departments_serving,
    new_idempotency_key,
    photo_ids,
)
from .models import Assignment, Case, CaseEvent, Photo
from .services import CaseError, CaseFilters, CaseInput, CaseNotFound
from .workflow import BY_ACTION, OPEN_STATES, TRANSITIONS, State, Step

PER_PAGE = 50
# Who works which list, read from the transition table: the queue is for those who
# dispatch, the inbox for those who accept for a department, the verification list for
# those who verify a fix.
QUEUE_ROLES = BY_ACTION["dispatch"].roles | {Role.ADMIN}  # administrators look, not act
DEPARTMENT_ROLES = BY_ACTION["accept"].roles
VERIFY_ROLES = BY_ACTION["verify"].roles
# States a case is still being worked in (the clock of a suspended case is stopped).
WORKING_STATES = [s for s in State.values if s in OPEN_STATES or s == State.SUSPENDED]
# Which deadline step an action starts, for measuring how long each step took.
STEP_STARTED_BY = {t.action: t.starts for t in TRANSITIONS if t.starts}
STEP_STARTED_BY.update(report=Step.REGISTER, self_handle=Step.VERIFY)
# Timeline lines not made by a transition of the table.
OTHER_EVENTS = {
    "report": gettext_lazy("reported (上报)"),
    "self_handle": gettext_lazy("handled on the spot (自处置)"),
    "merge_in": gettext_lazy("a duplicate was merged in (合并)"),
    "escalate": gettext_lazy("escalated, deadline passed (超时升级)"),
}


def _require_role(user, roles) -> None:
    if getattr(user, "role", None) not in roles:
        raise PermissionDenied("this page is for other roles")


def _tabs(user) -> list[tuple[str, str]]:
    """The case pages this user works with, as (url name, label)."""
    role = user.role
    tabs = []
    if role in QUEUE_ROLES:
        tabs.append(("cases:queue", _("Case queue")))
    if role in DEPARTMENT_ROLES:
        tabs.append(("cases:inbox", _("Department inbox")))
    if role in VERIFY_ROLES:
        tabs.append(("cases:verify_list", _("To verify")))
    if has_permission(user, "cases.report") and role != Role.MACHINE:
        tabs.append(("cases:report", _("Report a problem") if role == Role.RESIDENT
                     else _("Report a case")))
        tabs.append(("cases:mine", _("My reports") if role == Role.RESIDENT
                     else _("My cases")))
    if role == Role.RESIDENT:
        tabs.append(("cases:track", _("Track a case")))
    if has_permission(user, "cases.import") and role != Role.MACHINE:
        tabs.append(("cases:hotline", _("Hotline import")))
    return tabs


def _render(request: HttpRequest, template: str, context: dict, *, tab: str = "",
            status: int = 200) -> HttpResponse:
    context.update(tabs=_tabs(request.user), tab=tab)
    return render(request, template, context, status=status)


def _rows(cases, now: datetime | None = None) -> list[dict]:
    now = now or timezone.now()
    return [{"case": c, "light": traffic_light(c, now)} for c in cases]


def _safe_next(request: HttpRequest) -> str | None:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                   require_https=request.is_secure()):
        return target
    return None


# -- landing --------------------------------------------------------------------------------


@permission_required("cases.view")
def home(request: HttpRequest) -> HttpResponse:
    """Each role to the list its work starts from."""
    user = request.user
    if user.role in QUEUE_ROLES:
        return redirect("cases:queue")
    if user.role in DEPARTMENT_ROLES:
        return redirect("cases:inbox")
    if has_permission(user, "cases.report") and user.role != Role.MACHINE:
        return redirect("cases:mine")
    raise PermissionDenied("no case pages for this role")


# -- reporting --------------------------------------------------------------------------------


def _region_with_bounds(region: Region | None) -> Region | None:
    """The region itself or its nearest ancestor that has a boundary box."""
    while region is not None:
        if region.min_lon is not None:
            return region
        region = region.parent
    return None


def _map_config(user, *, region: Region | None, point=None) -> dict | None:
    """What the page's Leaflet map draws: the point, the region's outline when the user may
    see it, the box to show. None when the map would have nothing to show (no tiles, no
    outline): a blank square with a dot on it helps nobody."""
    boxed = _region_with_bounds(region)
    outline = None
    if boxed is not None and has_permission(user, "regions.view") \
            and visible_to(Region, user).filter(pk=boxed.pk).exists():
        outline = reverse("api:regions_geojson", kwargs={"code": boxed.code})
    if not settings.MAP_TILE_URL and outline is None:
        return None
    config = {"outlineUrl": outline, "point": point}
    if boxed is not None:
        config["bounds"] = [[boxed.min_lat, boxed.min_lon], [boxed.max_lat, boxed.max_lon]]
    if point is None and boxed is None:
        return None
    return config


def _form_error(form, exc: CaseError) -> None:
    name = exc.field if exc.field in form.fields else None
    if exc.field in ("lon", "lat", "crs", "grid"):
        name = "address"  # the location block: the point and the address answer together
    form.add_error(name, exc.message)


def _file_report(user, form: ReportForm, files, stored: list[int]
                 ) -> tuple[Case, bool, list[str]]:
    """Intake, with photos the page uploaded already (ids) or sent with the form.

    Photos sent with the form (no JavaScript) are stored after intake and only when the case
    is new, so a double submit neither files twice nor stores the photo twice; evidence of a
    fix on the spot must exist first, so it is stored before (its ids go to ``stored``, for
    the form to keep if intake refuses). A photo refused after the case is filed does not
    undo the case: what went wrong is returned, to be told on the case page.
    """
    fields = form.intake_fields()
    photos = list(form.cleaned_data["photos"])
    if files and fields["self_handled"]:
        for f in files:
            stored.append(services.add_photo(user, None, f).pk)
        photos += stored
        files = []
    case, created = services.submit_case(user, CaseInput(**fields, photos=photos))
    problems = []
    if created:
        for f in files:
            try:
                services.add_photo(user, case, f)
            except CaseError as exc:
                problems.append(f"{f.name}: {exc.message}")
    return case, created, problems


@permission_required("cases.report")
def report(request: HttpRequest) -> HttpResponse:
    """上报: category, what and where, photos; a grid worker may record a fix on the spot."""
    user = request.user
    if user.role == Role.MACHINE:
        raise PermissionDenied("machine clients file through the API")
    categories = list(services.active_categories().order_by("sort", "code"))
    simple = user.role == Role.RESIDENT
    # Intake accepts a fix on the spot (自处置) from grid workers only; others aren't offered it.
    can_fix = user.role == Role.GRID_WORKER
    initial = {"idempotency_key": new_idempotency_key()}
    # "Report what I found" on the grid worker's day opens this page at her GPS point.
    for name in ("lon", "lat"):
        with contextlib.suppress(ValueError):
            initial[name] = float(request.GET.get(name, ""))
    form = ReportForm(request.POST or None, simple=simple, can_fix=can_fix,
                      categories=categories, initial=initial)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            stored: list[int] = []
            try:
                case, created, problems = _file_report(
                    user, form, request.FILES.getlist("photo"), stored)
            except CaseError as exc:
                status = exc.status
                _form_error(form, exc)
                form.data = form.data.copy()
                if stored:  # kept for the next attempt, not taken again
                    form.data["photos"] = ",".join(
                        map(str, [*form.cleaned_data["photos"], *stored]))
                if exc.field == "idempotency_key":
                    # The key went to another report: this one gets its own.
                    form.data["idempotency_key"] = new_idempotency_key()
            else:
                if created:
                    messages.success(request, _("Case %(code)s has been filed.")
                                     % {"code": case.code})
                else:
                    messages.info(request, _("This report was filed already, as case "
                                             "%(code)s.") % {"code": case.code})
                for problem in problems:
                    messages.warning(request, _("A photo was not stored: %(problem)s")
                                     % {"problem": problem})
                return redirect("cases:detail", code=case.code)
    kept = photo_ids(form.data.get("photos", "")) if form.is_bound else []
    kept_photos = Photo.objects.filter(pk__in=kept, case__isnull=True, uploaded_by=user)
    return _render(request, "cases/report.html", {
        "form": form, "simple": simple,
        "category_tree": category_tree(categories, get_language() or ""),
        "selected_category": form["category"].value() or "",
        "kept_photos": [{"id": p.pk, "thumb": reverse("api:cases_own_photo_thumb",
                                                      kwargs={"photo_id": p.pk})}
                        for p in kept_photos],
        "map_config": _map_config(user, region=user.region),
        "upload_url": reverse("api:cases_upload_own_photo"),
        "strings": _report_strings(),
    }, tab="cases:report", status=status)


def _report_strings() -> dict[str, str]:
    """What report.js says, translated here; %(name)s placeholders are filled in there."""
    return {
        "chooseMain": _("— main category —"), "chooseSub": _("— category —"),
        "locating": _("Finding your position…"),
        "byGps": _("GPS, within %(metres)s m"), "byPin": _("pin on the map"),
        "byPhoto": _("the photo's position"), "kept": _("as entered"),
        "pointSet": _("Point set (%(how)s): %(lat)s, %(lon)s"),
        "gpsDenied": _("Location permission was refused: place a pin or give an address."),
        "gpsFailed": _("No GPS position: place a pin or give an address."),
        "uploading": _("Uploading the photo…"),
        "uploaded": _("%(count)s photo(s) attached."),
        "uploadFailed": _("%(name)s was not accepted: %(reason)s"),
        "waitUpload": _("Wait until the photo is uploaded."),
        "sending": _("Sending…"),
    }


# -- lists -------------------------------------------------------------------------------------


def _category_options() -> list[tuple[str, str]]:
    language = get_language() or ""
    out = []
    for c in services.active_categories().order_by("sort", "code"):
        prefix = "— " if c.parent_id else ""
        out.append((c.code, prefix + category_label(c, language)))
    return out


@permission_required("cases.view")
def queue(request: HttpRequest) -> HttpResponse:
    """The dispatcher's queue (指挥调度): every case in scope, overdue first, with its light."""
    user = request.user
    _require_role(user, QUEUE_ROLES)
    state = request.GET.get("state", "")
    category = request.GET.get("category", "").strip()
    overdue = request.GET.get("overdue") == "1"
    text = request.GET.get("q", "").strip()[:60]
    if state == "all":
        states = None
    elif state in State.values:
        states = state
    else:
        state, states = "", ",".join(WORKING_STATES)
    qs = services.list_cases(user, CaseFilters(
        state=states, category=category or None, overdue=True if overdue else None,
        q=text or None)).order_by(F("due_at").asc(nulls_last=True), "-created_at")
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    counts = dict(visible_to(Case, user).filter(state__in=WORKING_STATES)
                  .values_list("state").annotate(n=Count("id")))
    late = services.list_cases(user, CaseFilters(overdue=True)).count()
    keep = request.GET.copy()
    keep.pop("page", None)
    return _render(request, "cases/queue.html", {
        "page": page, "rows": _rows(page), "state": state, "category": category,
        "overdue": overdue, "q": text, "query": keep.urlencode(),
        "states": State.choices, "categories": _category_options(),
        "counts": [(s, State(s).label, counts.get(s, 0)) for s in WORKING_STATES],
        "late": late,
    }, tab="cases:queue")


@permission_required("cases.view")
def inbox(request: HttpRequest) -> HttpResponse:
    """A department's inbox (部门收件箱): the cases dispatched or whistled to it."""
    user = request.user
    _require_role(user, DEPARTMENT_ROLES)
    show_all = request.GET.get("all") == "1"
    filters = CaseFilters(state=None if show_all else ",".join(WORKING_STATES))
    qs = services.list_cases(user, filters).order_by(F("due_at").asc(nulls_last=True),
                                                     "-created_at")
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    rows = _rows(page)
    parts = {a.case_id: a for a in Assignment.objects.filter(
        case__in=[r["case"].pk for r in rows], department_id=user.department_id, active=True)}
    for row in rows:
        row["part"] = parts.get(row["case"].pk)
    return _render(request, "cases/inbox.html", {
        "page": page, "rows": rows, "show_all": show_all, "department": user.department,
    }, tab="cases:inbox")


@permission_required("cases.view")
def verify_list(request: HttpRequest) -> HttpResponse:
    """Fixes waiting for verification (待核查) in the user's area, with verify / rework."""
    user = request.user
    _require_role(user, VERIFY_ROLES)
    qs = services.list_cases(user, CaseFilters(state=State.HANDLED)).order_by(
        F("due_at").asc(nulls_last=True), "-created_at")
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    rows = _rows(page)
    for row in rows:
        row["forms"] = [ActionForm(t, row["case"])
                        for t in services.allowed_transitions(user, row["case"])]
    return _render(request, "cases/verify_list.html", {"page": page, "rows": rows},
                   tab="cases:verify_list")


@permission_required("cases.report")
def mine(request: HttpRequest) -> HttpResponse:
    """What I reported, newest first (a resident's 我的反映, a grid worker's 我的上报)."""
    user = request.user
    mine_q = Q(reporter=user)
    if user.role == Role.RESIDENT:
        mine_q |= Q(requester=user)  # matters she raised that a grid worker or 12345 filed
    qs = services.list_cases(user, CaseFilters()).filter(mine_q)
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    counts = {}
    if user.role in VERIFY_ROLES:
        counts["to_verify"] = services.list_cases(user, CaseFilters(state=State.HANDLED)) \
            .exclude(reporter=user, self_handled=True).count()
    rows = _rows(page)
    for row in rows:
        # What waits for this person on the case (a resident's rating, say).
        row["todo"] = [str(t.label) for t in services.allowed_transitions(user, row["case"])]
    return _render(request, "cases/mine.html", {
        "page": page, "rows": rows, "counts": counts,
        "is_resident": user.role == Role.RESIDENT,
    }, tab="cases:mine")


@permission_required("cases.view")
def track(request: HttpRequest) -> HttpResponse:
    """Find a case by its number — only among the cases the user may see (a resident: her
    own), so another person's number answers like a number that does not exist."""
    code = request.GET.get("code", "").strip().upper()[:24]
    status, error = 200, ""
    if code:
        try:
            case = services.get_case(request.user, code)
        except CaseNotFound:
            status = 404
            error = _("No case %(code)s among the cases you can see.") % {"code": code}
        else:
            return redirect("cases:detail", code=case.code)
    return _render(request, "cases/track.html", {"code": code, "error": error},
                   tab="cases:track", status=status)


# -- the case page ------------------------------------------------------------------------------


@dataclass
class TimelineRow:
    event: CaseEvent
    label: str
    actor: str
    step_label: str = ""
    took: timedelta | None = None
    percent: int | None = None
    bar: int = 0
    late: bool = False
    photos: list[dict] = field(default_factory=list)

    @property
    def from_label(self) -> str:
        return _state_label(self.event.from_state)

    @property
    def to_label(self) -> str:
        return _state_label(self.event.to_state)

    @property
    def took_text(self) -> str:
        return _duration(self.took) if self.took is not None else ""


def _duration(span: timedelta) -> str:
    """"2 d 3 h", "3 h 5 min", "4 min": wall-clock time, the two largest units."""
    minutes = max(0, int(span.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return _("%(d)d d %(h)d h") % {"d": days, "h": hours}
    if hours:
        return _("%(h)d h %(m)d min") % {"h": hours, "m": mins}
    return _("%(m)d min") % {"m": mins}


def _action_label(action: str) -> str:
    t = BY_ACTION.get(action)
    if t is not None:
        return str(t.label)
    return str(OTHER_EVENTS.get(action, action))


def _state_label(state: str) -> str:
    return str(State(state).label) if state in State.values else state


def _photo_urls(case: Case, photo: Photo) -> dict:
    kwargs = {"code": case.code, "photo_id": photo.pk}
    return {"id": photo.pk, "url": reverse("api:cases_photo", kwargs=kwargs),
            "thumb": reverse("api:cases_photo_thumb", kwargs=kwargs)}


def _timeline(case: Case, viewer, photos: list[Photo]) -> list[TimelineRow]:
    """The timeline with, for each line that ended a step, how long the step took and the
    share of its working-time limit used."""
    by_event: dict[int, list[dict]] = {}
    for p in photos:
        if p.event_id is not None:
            by_event.setdefault(p.event_id, []).append(_photo_urls(case, p))
    # A resident sees which department acted, not which official: names stay inside.
    hide_names = viewer.role == Role.RESIDENT
    started: dict[str, datetime] = {}
    rows = []
    for e in case.events.select_related("department").order_by("at", "id"):
        if hide_names and e.actor_id != viewer.pk:
            who = e.department.name if e.department else (
                str(Role(e.actor_role).label) if e.actor_role in Role.values else _("system"))
        else:
            who = e.actor_name or _("system")
            if e.department:
                who = f"{who} · {e.department.name}"
        row = TimelineRow(event=e, label=_action_label(e.action), actor=who,
                          photos=by_event.get(e.pk, []))
        if e.step:
            row.step_label = str(Step(e.step).label) if e.step in Step.values else e.step
            if e.step in started:
                row.took = e.at - started[e.step]
            if e.step_elapsed_ratio is not None:
                row.percent = round(e.step_elapsed_ratio * 100)
                row.bar = max(0, min(100, row.percent))
                row.late = e.step_elapsed_ratio > 1 or (
                    e.step_due_at is not None and e.at > e.step_due_at)
        step = STEP_STARTED_BY.get(e.action)
        if step:
            started[step] = e.at
        rows.append(row)
    return rows


def _case_page(request: HttpRequest, case: Case, *, failed: ActionForm | None = None,
               error: CaseError | None = None, kept: list[int] | None = None,
               status: int = 200) -> HttpResponse:
    user = request.user
    allowed = services.allowed_transitions(user, case)
    duplicates = services.duplicate_candidates(user, case)
    needs = {n for t in allowed for n in t.needs}
    departments = list(departments_serving(case)) if "departments" in needs else []
    forms = []
    for t in allowed:
        if failed is not None and failed.t.action == t.action and failed.is_bound:
            form = failed
        else:
            form = ActionForm(t, case, departments=departments, duplicates=duplicates,
                              kept_photos=kept if failed is not None
                              and failed.t.action == t.action else ())
        keep = photo_ids(form["evidence_ids"].value() or "") if "evidence_ids" in form.fields \
            else []
        form.kept = [{"id": i, "thumb": reverse("api:cases_own_photo_thumb",
                                                 kwargs={"photo_id": i})} for i in keep]
        forms.append(form)
    master_form = next((f for f in forms if "master" in f.t.needs), None)
    photos = list(case.photos.order_by("id"))
    report_in_due = None
    if any(t.action == "whistle" for t in allowed):
        report_in_due = deadline_for(case, Step.REPORT_IN)
    assignments = list(case.assignments.select_related("department")
                       .order_by("-active", "assigned_at", "id"))
    point = [case.lon, case.lat] if case.lon is not None else None
    return _render(request, "cases/detail.html", {
        "case": case, "light": traffic_light(case),
        "forms": forms, "failed_action": failed.t.action if failed is not None else "",
        "error": error, "duplicates": duplicates, "master_form": master_form,
        "timeline": _timeline(case, user, photos),
        "photos": [_photo_urls(case, p) for p in photos],
        "assignments": assignments, "report_in_due": report_in_due,
        "route": _route_names(case),
        "pending_department": _department_name(case.pending_detail.get("department")),
        "map_config": _map_config(user, region=case.region, point=point) if point else None,
        "is_resident": user.role == Role.RESIDENT,
        "now": timezone.now(),
    }, status=status)


def _department_name(code: str | None) -> str:
    if not code:
        return ""
    from wangge.accounts.models import Department

    return Department.objects.filter(code=code).values_list("name", flat=True).first() or code


def _route_names(case: Case) -> dict | None:
    """The route suggested at intake, with department names, for the dispatch form."""
    route = case.route or {}
    if not route.get("lead"):
        return None
    from wangge.accounts.models import Department

    names = dict(Department.objects.filter(code__in=[route["lead"], *route.get("assisting", [])])
                 .values_list("code", "name"))
    # Translators: between names in a list ("、" in Chinese).
    separator = pgettext("list separator", ", ")
    return {"lead": names.get(route["lead"], route["lead"]),
            "assisting": separator.join(names.get(c, c) for c in route.get("assisting", []))}


def _visible_case(user, **lookup) -> Case:
    return get_visible_or_404(Case.objects.select_related("category__parent", "region",
                                                          "master"), user, **lookup)


@permission_required("cases.view")
def detail(request: HttpRequest, code: str) -> HttpResponse:
    """Everything about one case and the actions the viewer may take on it now."""
    return _case_page(request, _visible_case(request.user, code=code))


@require_POST
@permission_required("cases.view")
def act(request: HttpRequest, code: str, action: str) -> HttpResponse:
    """One workflow action from the case page (or a list), through the engine.

    Refusals come back on the case page with the engine's status and words: 409 when the
    state does not allow it or someone else acted first (the page then shows the case as it
    is now), 403 when it is not the viewer's to do, 422 when an input is missing or wrong.
    An evidence photo already stored is kept for the next attempt.
    """
    user = request.user
    case = _visible_case(user, code=code)
    t = BY_ACTION.get(action)
    if t is None:
        raise Http404
    departments = departments_serving(case) if "departments" in t.needs else None
    form = ActionForm(t, case, request.POST, request.FILES, departments=departments)
    if not form.is_valid():
        return _case_page(request, case, failed=form, status=422)
    uploaded: list[int] = []
    try:
        inputs = form.engine_inputs()
        if "evidence" in t.needs:
            evidence = form.kept_evidence()
            if form.cleaned_data.get("evidence"):
                # Refused actions store no photo: ask the engine first.
                services.check_allowed(user, case, t)
                uploaded.append(services.add_photo(user, None, form.cleaned_data["evidence"]).pk)
            inputs["evidence"] = evidence + uploaded
        services.transition(user, case.pk, action,
                            expected_version=form.cleaned_data["version"], **inputs)
    except CaseError as exc:
        fresh = visible_to(Case.objects.select_related("category__parent", "region", "master"),
                           user).filter(pk=case.pk).first()
        if fresh is None:
            raise Http404 from None
        kept = form.kept_evidence() + uploaded
        if exc.status == 422 and fresh.version == case.version:
            # Nothing changed: the same form again, with what was typed and the error.
            data = request.POST.copy()
            if uploaded:
                data[form.add_prefix("evidence_ids")] = ",".join(map(str, kept))
            failed = ActionForm(t, fresh, data, departments=departments)
            failed.is_valid()
            failed.add_error(exc.field if exc.field in failed.fields else None, exc.message)
            return _case_page(request, fresh, failed=failed, error=exc, status=exc.status)
        return _case_page(request, fresh, failed=ActionForm(t, fresh), error=exc, kept=kept,
                          status=exc.status)
    messages.success(request, _("Done: %(action)s.") % {"action": t.label})
    target = _safe_next(request)
    if target:
        return redirect(target)
    if visible_to(Case, user).filter(pk=case.pk).exists():
        return redirect("cases:detail", code=case.code)
    # Returned by the department, say: it has left the viewer's inbox.
    return redirect("cases:home")
