"""``wangge rotate-key``: a new field-encryption key, and every stored token re-sealed.

    wangge rotate-key               new key (or finish an interrupted rotation), re-seal all
    wangge rotate-key --resume      only re-seal what is not under the current key
    wangge rotate-key --status      tokens per model, field and key id; nothing written

Back up the key file before and after: without it the sealed values are lost for good.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from wangge.privacy import keyring, rotation


class Command(BaseCommand):
    help = ("Rotate the field-encryption key: add a new current key to the ring (old keys "
            "stay to decrypt) and re-seal every protected column in batches; resumable.")

    def add_arguments(self, parser):
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--resume", action="store_true",
                          help="no new key: re-seal what is not under the current key")
        mode.add_argument("--status", action="store_true",
                          help="show tokens per model, field and key id, then stop")
        parser.add_argument("--batch-size", type=int, default=rotation.DEFAULT_BATCH,
                            help="rows per transaction (default %(default)s)")

    def handle(self, *args, resume=False, status=False, batch_size=rotation.DEFAULT_BATCH,
               **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        ring = keyring.current_ring()
        if status:
            return self._status(ring)
        self.stdout.write(f"key ring: {ring.source}; current key {ring.current}"
                          + (f", retired {', '.join(ring.retired)}" if ring.retired else ""))
        if resume:
            outcome = rotation.reencrypt(batch_size=batch_size, progress=self._progress)
        else:
            unfinished = rotation.pending()
            if unfinished:
                self.stdout.write("an unfinished rotation: "
                                  + ", ".join(f"{m} {n} rows" for m, n in unfinished.items())
                                  + f" not under {ring.current}; finishing it (run again for "
                                    "a new key)")
            outcome = rotation.rotate(batch_size=batch_size, progress=self._progress)
        if outcome.env_ring:
            self.stdout.write(
                f"The key ring comes from ${keyring.ENV_VAR}, which this command cannot "
                f"change. Set it in every process to the value below (new current key "
                f"{outcome.kid}), restart them, then run `wangge rotate-key --resume`:")
            self.stdout.write(outcome.env_ring)
            return None
        if outcome.started_new_key:
            self.stdout.write(f"new current key {outcome.kid} written to {keyring.key_file()}")
        total = sum(outcome.resealed.values())
        self.stdout.write(f"re-sealed {total} values under {outcome.kid}"
                          + "".join(f"\n  {k}: {n}" for k, n in sorted(outcome.resealed.items())))
        if outcome.failures:
            raise CommandError(f"{len(outcome.failures)} values could not be opened and stay "
                               "as they were:\n  " + "\n  ".join(outcome.failures[:50]))
        self.stdout.write(self.style.SUCCESS(f"every protected value is under {outcome.kid}"))
        return None

    def _progress(self, p: rotation.Progress) -> None:
        self.stdout.write(f"  {p.model}: {p.done}/{p.total} rows")

    def _status(self, ring: keyring.KeyRing) -> None:
        self.stdout.write(f"key ring: {ring.source}; current key {ring.current}")
        rows = rotation.status()
        if not rows:
            self.stdout.write("no model declares protected fields")
        for model, name, kid, n in rows:
            mark = " (current)" if kid == ring.current else ""
            self.stdout.write(f"  {model}.{name}: {n} under {kid}{mark}")
        left = rotation.pending()
        self.stdout.write("nothing left to re-seal" if not left else
                          "left to re-seal: " + ", ".join(f"{m} {n} rows"
                                                          for m, n in left.items()))
