"""Staged uploads — 暂存上传: preview a file, then commit exactly those bytes, once.

An import page shows a dry run first. Between preview and commit the upload waits in the
user's own folder ``VAR_DIR/uploads/<kind>/<user id>`` under a random token kept in the session
(the browser only echoes the token back, never a path), with its SHA-256 so a changed file is
refused. Committing claims the file by renaming it: of two simultaneous commits only one finds
it, and the other is told the import was already committed. If the import raises, the file is
put back for a retry (the import itself is one transaction, so nothing was written).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

TOKEN_PATTERN = re.compile(r"[0-9a-f]{32}")
PENDING_SUFFIX = ".upload"
CLAIMED_SUFFIX = ".committing"
DONE_SUFFIX = ".done.json"
# Committed tokens remembered per session, so a late resubmit still gets its answer.
KEEP_COMMITTED = 10


@dataclass
class Commit:
    """What a commit came to. ``kind``: "done", "refused" (the import found problems and
    wrote nothing), "already" (committed before), or "gone" (nothing to commit; ``message``
    says why). ``outcome`` is what the import returned; ``result`` what "done" recorded."""

    kind: str
    name: str = ""
    outcome: Any = None
    result: dict = field(default_factory=dict)
    message: str = ""


@dataclass(frozen=True)
class Staging:
    """The waiting uploads of one import page (``kind`` names its folder and session key)."""

    kind: str

    @property
    def session_key(self) -> str:
        return f"staged_{self.kind}"

    def root(self) -> Path:
        return Path(settings.VAR_DIR) / "uploads" / self.kind

    def folder(self, user) -> Path:
        """The user's private folder: another account's token can never name a file in it."""
        path = self.root() / str(int(user.pk))
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return path

    def _path(self, user, token: str, suffix: str) -> Path:
        # Only ever called with a token matching TOKEN_PATTERN: the name can't leave the folder.
        return self.folder(user) / f"{token}{suffix}"

    # -- the session's view -------------------------------------------------------------------

    def _state(self, request: HttpRequest) -> dict[str, Any]:
        state = request.session.get(self.session_key) or {}
        state.setdefault("pending", None)
        state.setdefault("committed", {})
        return state

    def _save(self, request: HttpRequest, state: dict[str, Any]) -> None:
        request.session[self.session_key] = state

    def _forget(self, request: HttpRequest, state: dict[str, Any]) -> None:
        pending = state.get("pending")
        if pending and TOKEN_PATTERN.fullmatch(pending.get("token", "")):
            self._path(request.user, pending["token"], PENDING_SUFFIX).unlink(missing_ok=True)
        state["pending"] = None

    # -- the two steps ------------------------------------------------------------------------

    def stage(self, request: HttpRequest, name: str, content: bytes | None) -> str | None:
        """After a preview: keep ``content`` for the commit and return its token, or — with
        ``None`` (nothing worth committing) — just drop any upload waiting from before."""
        state = self._state(request)
        self._forget(request, state)
        self.remove_stale()
        token = None
        if content is not None:
            token = secrets.token_hex(16)
            fd = os.open(self._path(request.user, token, PENDING_SUFFIX),
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
            state["pending"] = {"token": token, "name": name,
                                "sha256": hashlib.sha256(content).hexdigest()}
        self._save(request, state)
        return token

    def commit(self, request: HttpRequest, token: str,
               run: Callable[[str, bytes, str], tuple[bool, Any, dict]]) -> Commit:
        """Commit the upload previewed under ``token``: ``run(name, content, sha256)`` imports
        it and returns (ok, outcome, result to remember). Runs at most once per token."""
        state = self._state(request)
        if token in state["committed"]:
            return self._already(request, token, state["committed"][token])
        pending = state["pending"]
        if not TOKEN_PATTERN.fullmatch(token) or not pending or pending["token"] != token:
            return Commit("gone", message=_(
                "This preview is no longer available: it was replaced by a newer upload or "
                "has expired. Upload the file again."))
        user, name = request.user, pending["name"]
        waiting = self._path(user, token, PENDING_SUFFIX)
        claimed = self._path(user, token, CLAIMED_SUFFIX)
        done = self._path(user, token, DONE_SUFFIX)
        try:
            os.rename(waiting, claimed)  # the rename is the lock
        except FileNotFoundError:
            if claimed.exists() or done.exists():
                return self._already(request, token, name)
            return self._gone(request, state, _(
                "The uploaded file is no longer on the server, so nothing was imported. "
                "Upload it again."))
        try:
            content = claimed.read_bytes()
            if hashlib.sha256(content).hexdigest() != pending["sha256"]:
                claimed.unlink(missing_ok=True)
                return self._gone(request, state, _(
                    "The stored upload no longer matches what was previewed, so nothing was "
                    "imported. Upload the file again."))
            ok, outcome, result = run(name, content, pending["sha256"])
        except BaseException:
            if claimed.exists():
                os.rename(claimed, waiting)
            raise
        claimed.unlink(missing_ok=True)
        state["pending"] = None
        if not ok:
            self._save(request, state)
            return Commit("refused", name=name, outcome=outcome)
        result = {"name": name, **result}
        # Left for a concurrent second commit, which can't see this session's new state yet;
        # swept with the stale uploads.
        done.write_text(json.dumps(result))
        committed = state["committed"]
        committed[token] = name
        for old in list(committed)[:-KEEP_COMMITTED]:
            del committed[old]
        self._save(request, state)
        return Commit("done", name=name, outcome=outcome, result=result)

    def commit_page(self, request: HttpRequest,
                    run: Callable[[str, bytes, str], tuple[bool, Any, dict]],
                    page: Callable[..., HttpResponse]) -> HttpResponse:
        """The import page's answer to its commit button: ``page(request, status=…, **context)``
        renders it. A vanished preview is 400; an import that found problems (something
        changed since the preview) is 409 with its report and wrote nothing."""
        done = self.commit(request, request.POST.get("token", ""), run)
        if done.kind == "gone":
            return page(request, status=400, upload_error=done.message)
        if done.kind == "refused":
            return page(request, status=409, stage="refused", report=done.outcome,
                        file_name=done.name)
        return page(request, stage=done.kind, result=done.result)

    def _already(self, request: HttpRequest, token: str, name: str) -> Commit:
        try:
            result = json.loads(self._path(request.user, token, DONE_SUFFIX).read_text())
        except (FileNotFoundError, ValueError):
            result = {"name": name}  # still being imported by the first request
        return Commit("already", name=name, result=result)

    def _gone(self, request: HttpRequest, state: dict[str, Any], message: str) -> Commit:
        state["pending"] = None
        self._save(request, state)
        return Commit("gone", message=message)

    def remove_stale(self, max_age_seconds: float | None = None) -> int:
        """Delete waiting uploads older than a session can live; they can never be committed.

        Run on each new upload, so abandoned previews don't pile up without a scheduled job.
        """
        age = settings.SESSION_COOKIE_AGE if max_age_seconds is None else max_age_seconds
        cutoff = time.time() - age
        removed = 0
        for path in self.root().glob("*/*"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:  # committed or cleaned by another request meanwhile
                continue
        return removed
