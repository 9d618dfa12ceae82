"""The bad-input sweep of tests/sweep.py as a report: counts per family and
outcome over every backend, the agents' and the CLI's tables of bad input
included. Cases run in a child process that is restarted after a crash or a
hang, so those are counted too. ``--fastpg DIR`` tests the fastpg in DIR (an
older checkout, for before/after counts).

    python -m tests.sweep_report [--fastpg DIR] [--backends numpy,numba,cython] [-v]
"""
import re

import numpy as np

from .sweep import all_cases, outcome


def _table_outcome(call, pattern):
    try:
        call()
    except (ValueError, TypeError) as exc:
        return ("ok" if re.search(pattern, str(exc)) else "unnamed"), str(exc)[:160]
    except Exception as exc:  # noqa: BLE001
        return "wrong-type", f"{type(exc).__name__}: {str(exc)[:160]}"
    return "accepted", ""


def _child(backend, start, fastpg_dir):
    import json
    import sys
    import warnings

    if fastpg_dir:  # this package (tests) is imported already, so only fastpg moves
        sys.path.insert(0, fastpg_dir)
    import fastpg
    warnings.simplefilter("ignore")
    np.seterr(all="ignore")
    if backend == "agents":
        from . import test_bad_input as tb
        import fastpg.agents as agents
        for i, (label, (call, _, pattern)) in enumerate(tb.AGENT_CASES.items()):
            if i >= start:
                o, d = _table_outcome(lambda: call(agents), pattern)
                print(json.dumps([i, "agents", label, o, d]), flush=True)
        return
    for i, case in enumerate(all_cases(fastpg, backend)):
        if i < start:
            continue
        # announced first, so that a crash or hang is reported with its case
        print(json.dumps([i, case.family, case.id, None, None]), flush=True)
        try:
            o, d = outcome(case)
        except Exception as exc:  # noqa: BLE001 (a case this version cannot set up)
            o, d = "n/a", f"{type(exc).__name__}: {exc}"[:160]
        print(json.dumps([i, case.family, case.id, o, d]), flush=True)


def _cli(fastpg_dir):
    """The bad command lines of tests/test_cli.py, each in a fresh process."""
    import subprocess
    import sys

    from .test_cli import BAD_COMMANDS
    code = ("import sys; sys.path.insert(0, sys.argv[1]) if sys.argv[1] else None; "
            "from fastpg import cli; cli.main(sys.argv[2:])")
    for label, (argv, _) in BAD_COMMANDS.items():
        try:
            p = subprocess.run([sys.executable, "-c", code, fastpg_dir or ""] + argv,
                               capture_output=True, text=True, timeout=120,
                               stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            yield "cli", label, "accepted", "ran for 120 s"
            continue
        err = p.stderr.strip()
        if p.returncode < 0:
            yield "cli", label, "crash", f"signal {-p.returncode}"
        elif p.returncode == 0:
            yield "cli", label, "accepted", ""
        elif "Traceback" in err:
            yield "cli", label, "traceback", err.splitlines()[-1][:160]
        elif p.returncode == 2 and err.startswith("fastpg: error:") and err.count("\n") == 0:
            yield "cli", label, "ok", ""
        else:
            yield "cli", label, "unclear", f"exit {p.returncode}: {err[:160]}"


def report(backends, fastpg_dir=None, timeout=60.0):
    """Counts of outcomes per (family, outcome) over every backend; crashes
    found by running the cases in a child that is restarted after a death."""
    import collections
    import json
    import select
    import subprocess
    import sys

    counts = collections.Counter()
    bad = []
    for backend in list(backends) + ["agents"]:
        start = 0
        while True:
            p = subprocess.Popen([sys.executable, "-m", "tests.sweep_report", "--child", backend,
                                  str(start), fastpg_dir or ""], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True)
            last, why, pending = start - 1, None, ("?", f"case {start}")
            while True:
                # a case that runs for minutes (a huge count accepted) is a hang
                if not select.select([p.stdout], [], [], timeout)[0]:
                    p.kill()
                    why = "hang"
                    break
                line = p.stdout.readline()
                if not line:
                    break
                i, fam, cid, o, d = json.loads(line)
                if o is None:
                    pending = (fam, cid)
                    continue
                counts[(fam, o)] += 1
                last = i
                if o != "ok":
                    bad.append((backend, cid, o, d))
            p.wait()
            if why is None and p.returncode == 0:
                break
            why = why or "crash"
            counts[(pending[0], why)] += 1
            bad.append((backend, pending[1], why, f"exit {p.returncode}"))
            start = last + 2
    for fam, label, o, d in _cli(fastpg_dir):
        counts[(fam, o)] += 1
        if o != "ok":
            bad.append(("cli", label, o, d))
    return counts, bad


def _main(argv):
    import argparse

    if argv and argv[0] == "--child":
        return _child(argv[1], int(argv[2]), argv[3] if len(argv) > 3 else "")
    ap = argparse.ArgumentParser(prog="python -m tests.sweep_report",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--fastpg", default="", help="directory holding the fastpg to test")
    ap.add_argument("--backends", default="numpy,numba,cython")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every failing case")
    args = ap.parse_args(argv)
    counts, bad = report(args.backends.split(","), args.fastpg)
    fams = sorted({f for f, _ in counts})
    outs = sorted({o for _, o in counts}, key=lambda o: (o != "ok", o))
    print("family".ljust(9) + "".join(o.rjust(15) for o in outs))
    for f in fams:
        print(f.ljust(9) + "".join(str(counts[(f, o)]).rjust(15) for o in outs))
    print("total".ljust(9) + "".join(str(sum(counts[(f, o)] for f in fams)).rjust(15)
                                     for o in outs))
    if args.verbose:
        for row in bad:
            print(*row, sep=" | ")


if __name__ == "__main__":
    import sys
    _main(sys.argv[1:])
