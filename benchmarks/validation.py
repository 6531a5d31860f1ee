"""The collector's per-event work on its own: ``validate_batch`` with enrichment, old vs new code.

Simulated shop traffic (``intellishop.simulation``, all message types) is cut into 100-event
batch bodies; each code version, in a child process of its own, times what ``POST /v1/batch``
does with a body before the append, per event (``ingest.validation.validate_batch`` with the
collector's enrichment, and the envelope's decode, which older code did apart; without HTTP,
admission or the append). It prints the best process CPU per event of ``--repeat`` passes
(garbage collection off while timing, as the events are kept), per turn; versions take turns
(``--rounds``) so a busy machine affects both, and the ratio is of the medians.

    git archive HEAD | tar -x -C /tmp/validation-old
    .venv/bin/python benchmarks/validation.py --old /tmp/validation-old [--events 30000]
        [--rounds 3] [--repeat 9]
"""

from __future__ import annotations

import argparse
import gc
import inspect
import os
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
#: What the collector's enrichment sees: a public client address, the tenant keeping no IPs.
CLIENT_IP = "81.2.69.142"


def child(events: int, repeat: int) -> None:
    """Time this process's ``ingest.validation`` (the code root is first on ``sys.path``)."""
    import msgspec

    from ingest.enrichment import ContextEnricher
    from ingest.validation import body_is_clean, decode_envelope, validate_batch
    from intellishop.simulation import SimulationConfig, generate_events

    messages: list[Any] = []
    for message in generate_events(SimulationConfig(seed=7, days=30, customers=2000)):
        messages.append(message)
        if len(messages) == events:
            break
    bodies = [msgspec.json.encode({"batch": messages[i : i + 100]}) for i in range(0, events, 100)]
    enricher = ContextEnricher(CLIENT_IP, store_ip=False)
    limits: dict[str, Any] = {
        "received_at_us": time.time_ns() // 1000,
        "max_event_bytes": 32 * 1024,
        "max_future_us": 10**9,
        "enrich": enricher.in_place,
        "enrich_view": enricher.view_json,
    }
    validate: Callable[[bytes], list[Any]]
    if "body" in inspect.signature(validate_batch).parameters:

        def validate(body: bytes) -> list[Any]:  # the code since the whole-batch decode
            return list(validate_batch(body, **limits).accepted)

    else:  # older code: the envelope split into messages first, then validate_batch on them

        def validate(body: bytes) -> list[Any]:
            envelope = decode_envelope(body)
            accepted, _ = validate_batch(
                envelope.batch,
                envelope_sent_at=None,
                envelope_context=None,
                clean=body_is_clean(body),
                **limits,
            )
            return list(accepted)

    accepted = sum(len(validate(body)) for body in bodies)
    if accepted != len(messages):
        raise SystemExit(f"only {accepted} of {len(messages)} simulated events accepted")
    best = float("inf")
    gc.disable()
    for _ in range(repeat):
        started = time.process_time()
        for body in bodies:
            validate(body)
        best = min(best, time.process_time() - started)
    gc.enable()
    print(best / len(messages) * 1e6)


def turn(code: Path, events: int, repeat: int) -> float:
    """µs per event of the code under ``code``, measured in a child process."""
    program = (
        f"import sys; sys.path.insert(0, {str(code)!r}); sys.path.insert(1, {str(REPO)!r});"
        " import importlib.util as u;"
        f" spec = u.spec_from_file_location('bench', {str(Path(__file__).resolve())!r});"
        " m = u.module_from_spec(spec); spec.loader.exec_module(m);"
        f" m.child({events}, {repeat})"
    )
    output = subprocess.run(
        [sys.executable, "-c", program], check=True, capture_output=True, text=True, cwd=code
    )
    return float(output.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, help="a checkout of the old code; omit: new only")
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=9, help="timed passes per turn (best of)")
    args = parser.parse_args()
    python = os.path.relpath(sys.executable, Path.cwd())
    print("command:", shlex.join([python, *sys.argv]))
    load = os.getloadavg()[0]
    versions = {"new": REPO, **({"old": args.old.resolve()} if args.old else {})}
    results: dict[str, list[float]] = {name: [] for name in versions}
    for round_number in range(1, args.rounds + 1):
        for name, code in versions.items():
            micros = turn(code, args.events, args.repeat)
            results[name].append(micros)
            print(f"  round {round_number}, {name}: {micros:.3f} µs per event", flush=True)
    print(f"1-minute load average: {load:.2f} before, {os.getloadavg()[0]:.2f} after")
    for name, values in results.items():
        print(f"{name}: median {statistics.median(values):.3f} µs per event")
    if args.old:
        ratio = statistics.median(results["new"]) / statistics.median(results["old"])
        print(f"new / old: {ratio:.3f}x the CPU per event")


if __name__ == "__main__":
    main()
