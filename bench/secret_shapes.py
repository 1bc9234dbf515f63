"""How many secrets of each corpus the privacy filter keeps out, and which look-alikes it keeps.

Usage: python bench/secret_shapes.py [--seeds 5] [--show]

Runs ``privacy.clean_text`` over every ``(label, text, secret)`` of the three corpora in
``tests/``: the families the project names (``secret_corpus``), the tuning corpus of shapes
outside them (``secret_corpus_unseen``) and the HELD-OUT one (``secret_corpus_heldout``,
never tuned on), each drawn with ``--seeds`` seeds (values are random per seed). A secret is
kept out when no line of it of 8+ characters is left in the cleaned text. Each corpus's
look-alikes must come out unchanged. The same check also goes through the hook's own path
(``needs_cleaning`` on the payload's raw JSON, then ``clean_json_text``), so a prefilter
that missed a shape shows up here. ``--show`` lists what leaked from the
other two (never from the held-out corpus: it is not to be tuned on). Exits 0.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def leaked(secret: str, cleaned: str) -> bool:
    parts = [secret] + [line for line in secret.split("\n") if len(line) >= 8]
    return any(p in cleaned for p in parts)


def hook_clean(text: str) -> str:
    from claude_mem import privacy

    raw = json.dumps({"tool_response": {"stdout": text}})
    if not privacy.needs_cleaning(raw):
        return json.loads(raw)["tool_response"]["stdout"]
    return json.loads(privacy.clean_json_text(raw))["tool_response"]["stdout"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--show", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(ROOT / "tests"))
    from claude_mem import privacy
    from secret_corpus import LOOK_ALIKES, secret_shapes
    from secret_corpus_heldout import HELDOUT_LOOK_ALIKES, heldout_shapes
    from secret_corpus_unseen import UNSEEN_LOOK_ALIKES, unseen_shapes

    corpora = [("known families (secret_corpus)", secret_shapes, LOOK_ALIKES),
               ("tuning (secret_corpus_unseen)", unseen_shapes, UNSEEN_LOOK_ALIKES),
               ("HELD-OUT (secret_corpus_heldout)", heldout_shapes, HELDOUT_LOOK_ALIKES)]
    print(f"secrets kept out by privacy.clean_text, {args.seeds} seeds per corpus")
    print(f"{'corpus':<34} {'shapes':>6} {'kept out':>9} {'%':>6} {'hook path':>9}"
          f" {'look-alikes kept':>17}")
    for name, shapes_of, look_alikes in corpora:
        total = out = hook_out = 0
        misses: dict[str, int] = {}
        for seed in range(1, args.seeds + 1):
            for label, text, secret in shapes_of(seed):
                total += 1
                if not leaked(secret, privacy.clean_text(text)):
                    out += 1
                else:
                    misses[label] = misses.get(label, 0) + 1
                hook_out += not leaked(secret, hook_clean(text))
        changed = [la for la in look_alikes
                   if privacy.clean_text(la) != la or hook_clean(la) != la]
        shapes_per_seed = total // args.seeds
        print(f"{name:<34} {shapes_per_seed:>6} {out:>4}/{total:<4} {100 * out / total:>6.1f}"
              f" {100 * hook_out / total:>8.1f}% {len(look_alikes) - len(changed):>8}/{len(look_alikes):<8}")
        if args.show and "HELD-OUT" not in name:   # held-out misses are counted, never read
            for label, n in sorted(misses.items()):
                print(f"    leaked: {label} ({n}/{args.seeds})")
            for la in changed:
                print(f"    look-alike changed: {la!r} -> {privacy.clean_text(la)!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
