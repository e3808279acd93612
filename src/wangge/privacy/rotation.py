"""Key rotation — 密钥轮换: a new current key, and every stored token re-sealed under it.

``rotate`` adds a fresh key to the ring and makes it current (the old ones stay, so every
token still opens meanwhile), then ``reencrypt`` walks every protected column of every model
that declares protected fields, in batches of rows, each batch in its own transaction with
its rows locked, re-sealing the tokens that do not begin with the current prefix (current
key and current suite's algorithm). Nothing else is written: not the blind index (its key
does not rotate, see ``keyring``), not the mask, not other columns.

Resuming needs no state of its own: what is left to do is exactly the tokens not under the
current key. So a run interrupted by a crash is finished by running again — ``rotate`` sees
tokens still under older keys and completes that rotation instead of starting another.
Tokens that do not open (tampered, or under a key no longer in the ring) are skipped and
reported by model, row and field, never with a value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Model, Q

from wangge.audit.services import record

from . import crypto, keyring, kinds
from .errors import KeyRingError, PrivacyError
from .services import protected_models

DEFAULT_BATCH = 500


@dataclass
class Progress:
    """How far one model is: rows re-sealed of the rows that needed it at the start."""

    model: str
    done: int
    total: int


@dataclass
class Outcome:
    started_new_key: bool
    kid: str
    resealed: dict[str, int] = field(default_factory=dict)  # "label.field" → tokens
    failures: list[str] = field(default_factory=list)  # "label #pk field: why"
    env_ring: str = ""  # the new ring to set, when the ring comes from the environment


def _stale_q(model: type[Model], prefix: str) -> Q:
    """Rows holding at least one token not sealed under ``prefix``."""
    q = Q(pk__in=[])
    for name in model.protected_fields:
        col = f"{name}_cipher"
        q |= ~Q(**{col: ""}) & ~Q(**{f"{col}__startswith": prefix})
    return q


def pending(models: list[type[Model]] | None = None) -> dict[str, int]:
    """Rows per model with a token not under the current key and suite (label → rows)."""
    prefix = crypto.current_prefix()
    out = {}
    for model in models if models is not None else protected_models():
        n = model._base_manager.filter(_stale_q(model, prefix)).count()
        if n:
            out[model._meta.label_lower] = n
    return out


def status() -> list[tuple[str, str, str, int]]:
    """(model, field, key id, tokens) for every key in the ring and every protected column."""
    ring = keyring.current_ring()
    rows = []
    for model in protected_models():
        for name in model.protected_fields:
            col = f"{name}_cipher"
            for kid in [ring.current, *ring.retired]:
                prefix = f"{crypto.VERSION}.{kid}."
                n = model._base_manager.filter(**{f"{col}__startswith": prefix}).count()
                rows.append((model._meta.label_lower, name, kid, n))
    return rows


def _reseal_batch(model: type[Model], rows: list[Model], ring: keyring.KeyRing, prefix: str,
                  outcome: Outcome) -> list[str]:
    changed: set[str] = set()
    for row in rows:
        for name, kind in model.protected_fields.items():
            col = f"{name}_cipher"
            token = getattr(row, col)
            if not token or token.startswith(prefix):
                continue
            try:
                value = kinds.open_cipher(kind, token)
            except PrivacyError as exc:
                outcome.failures.append(f"{model._meta.label_lower} #{row.pk} {name}: "
                                        f"{type(exc).__name__}")
                continue
            setattr(row, col, crypto.encrypt(value, kinds.get_kind(kind).code, ring=ring))
            changed.add(col)
            key = f"{model._meta.label_lower}.{name}"
            outcome.resealed[key] = outcome.resealed.get(key, 0) + 1
    return sorted(changed)


def reencrypt_model(model: type[Model], outcome: Outcome, *, batch_size: int = DEFAULT_BATCH,
                    progress: Callable[[Progress], None] | None = None) -> None:
    ring = keyring.current_ring()
    prefix = crypto.current_prefix(ring)
    stale = _stale_q(model, prefix)
    manager = model._base_manager
    total = manager.filter(stale).count()
    columns = [f"{name}_cipher" for name in model.protected_fields]
    done, last = 0, None
    while True:
        # One transaction per batch, rows locked: a concurrent edit of the same person waits
        # for this batch instead of being overwritten by its old value re-sealed.
        with transaction.atomic():
            qs = manager.filter(stale)
            if last is not None:
                qs = qs.filter(pk__gt=last)
            rows = list(qs.select_for_update().order_by("pk").only("pk", *columns)[:batch_size])
            if not rows:
                break
            changed = _reseal_batch(model, rows, ring, prefix, outcome)
            if changed:
                manager.bulk_update(rows, changed)
        last = rows[-1].pk
        done += len(rows)
        if progress:
            progress(Progress(model._meta.label_lower, done, total))


def reencrypt(*, batch_size: int = DEFAULT_BATCH,
              progress: Callable[[Progress], None] | None = None,
              outcome: Outcome | None = None) -> Outcome:
    """Re-seal every token not under the current key, model by model."""
    ring = keyring.current_ring()
    outcome = outcome or Outcome(False, ring.current)
    for model in protected_models():
        reencrypt_model(model, outcome, batch_size=batch_size, progress=progress)
    record("privacy.reencrypt", object_type="privacy.keyring", object_id=ring.current,
           detail={"resealed": outcome.resealed, "failures": len(outcome.failures)})
    return outcome


def rotate(*, batch_size: int = DEFAULT_BATCH,
           progress: Callable[[Progress], None] | None = None) -> Outcome:
    """Finish an unfinished rotation, or start a new one: new key, then re-seal everything.

    With the ring in the environment the new ring cannot be written here: it is returned in
    ``env_ring`` to be set in every process, after which ``reencrypt`` (``--resume``) runs.
    """
    ring = keyring.current_ring()
    if pending():
        return reencrypt(batch_size=batch_size, progress=progress,
                         outcome=Outcome(False, ring.current))
    new = ring.with_new_key()
    if keyring.from_environment():
        record("privacy.rotate_key", object_type="privacy.keyring", object_id=new.current,
               detail={"source": "environment", "written": False})
        return Outcome(True, new.current, env_ring=new.to_json())
    if ring.source != str(keyring.key_file()):
        raise KeyRingError(f"the ring in force comes from {ring.source}, not the key file")
    keyring.write_ring(new)
    record("privacy.rotate_key", object_type="privacy.keyring", object_id=new.current,
           detail={"retired": new.retired})
    return reencrypt(batch_size=batch_size, progress=progress,
                     outcome=Outcome(True, new.current))
