"""Profile the full analysis with py-spy and keep a text summary in bench/profiles/.

    python bench/profile.py [--packets 100000] [--mode full|flows] [--rate 100]

Runs ``py-spy record --format raw`` (collapsed stacks) on ``dissect.analyze`` of the benchmark
capture (every table built as a DataFrame), then writes ``bench/profiles/<mode>-<N>.txt``: the
share of samples per pipeline stage (the innermost dissect stage on the stack: read, decode,
flows, TCP reassembly, each analyzer, finalize, canonical order, DataFrame building, imports),
the top functions by self samples and by inclusive samples. ``--summarise FILE`` summarises an
existing raw file. py-spy comes with the ``bench`` extra (``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

# stage: first matching (innermost-first) frame file pattern
STAGES = [
    ("DataFrame building (schema.to_frame, pandas, pyarrow)", re.compile(r"dissect/schema\.py|pandas/|pyarrow/")),
    ("canonical order (dissect/order.py)", re.compile(r"dissect/order\.py")),
    ("SNMP finalize / audit", re.compile(r"dissect/snmp/audit\.py")),
    ("MIME (dissect/mime)", re.compile(r"dissect/mime/")),
    ("SMTP analyzer", re.compile(r"dissect/smtp/")),
    ("HTTP analyzer (parsing, decoding, hashing)", re.compile(r"dissect/http/")),
    ("SNMP analyzer (BER, USM crypto)", re.compile(r"dissect/snmp/")),
    ("content probes (detect.py)", re.compile(r"dissect/detect\.py")),
    ("TCP reassembly (tcp.py)", re.compile(r"dissect/tcp\.py")),
    ("flow table (flows.py)", re.compile(r"dissect/flows\.py")),
    ("IP defragmentation", re.compile(r"dissect/defrag\.py")),
    ("decode (decode.py)", re.compile(r"dissect/decode\.py|dissect/parallel\.py")),
    ("capture reading (dissect/io)", re.compile(r"dissect/io/")),
    ("pipeline loop (pipeline.py)", re.compile(r"dissect/pipeline\.py")),
    ("imports", re.compile(r"<frozen importlib|_bootstrap")),
]
_FRAME = re.compile(r"^(?P<fn>.*?) \((?P<file>[^)]*?)(?::(?P<line>\d+))?\)$")


def _parse(line: str):
    stack, _, n = line.rstrip("\n").rpartition(" ")
    try:
        count = int(n)
    except ValueError:
        return None, 0
    frames = []
    for f in stack.split(";"):
        m = _FRAME.match(f)
        if m:
            frames.append((m.group("fn"), m.group("file")))
        else:
            frames.append((f, ""))
    return frames, count


def _short(fn: str, path: str) -> str:
    p = path
    for pre in (ROOT + "/", "/work/main/"):
        if p.startswith(pre):
            p = p[len(pre):]
    p = re.sub(r".*/site-packages/", "", p)
    p = re.sub(r".*/lib/python3\.\d+/", "", p)
    return f"{fn} ({p})"


def summarise(raw_path: str, top: int = 30) -> str:
    total = 0
    stages: Counter = Counter()
    self_c: Counter = Counter()
    incl: Counter = Counter()
    with open(raw_path) as f:
        for line in f:
            frames, n = _parse(line)
            if not frames:
                continue
            total += n
            leaf = frames[-1]
            self_c[_short(*leaf)] += n
            for fr in set(_short(*fr) for fr in frames):
                incl[fr] += n
            stage = "other"
            for fn, path in reversed(frames):
                hit = next((name for name, rx in STAGES if rx.search(path)), None)
                if hit:
                    stage = hit
                    break
            stages[stage] += n
    out = [f"samples: {total}", "", "Share of samples per stage (innermost dissect stage on the stack):"]
    for name, n in stages.most_common():
        out.append(f"  {100 * n / total:5.1f}%  {name}")
    out += ["", f"Top {top} functions by self samples:"]
    for name, n in self_c.most_common(top):
        out.append(f"  {100 * n / total:5.1f}%  {name}")
    out += ["", f"Top {top} functions by inclusive samples:"]
    for name, n in incl.most_common(top):
        out.append(f"  {100 * n / total:5.1f}%  {name}")
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--packets", type=int, default=100_000)
    ap.add_argument("--mode", choices=("full", "flows"), default="full")
    ap.add_argument("--rate", type=int, default=100)
    ap.add_argument("--summarise", help="summarise an existing py-spy raw file instead")
    ap.add_argument("--out", help="summary file (default bench/profiles/<mode>-<N>.txt)")
    args = ap.parse_args(argv)
    if args.summarise:
        text = summarise(args.summarise)
    else:
        import make_capture

        spy = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
        if not os.path.exists(spy):
            raise SystemExit("py-spy not found: pip install -e '.[bench]'")
        path = make_capture.ensure(args.packets)
        raw = os.path.join(HERE, "profiles", f"{args.mode}-{args.packets}.raw")
        os.makedirs(os.path.dirname(raw), exist_ok=True)
        code = (f"import dissect; a = dissect.analyze({path!r}, "
                + ("snmp_keys=" + repr(os.path.join(ROOT, "samples/snmp/keys.toml")) if args.mode == "full"
                   else "protocols=()")
                + "); print(sum(len(a.tables[t]) for t in a.tables))")
        subprocess.run([spy, "record", "-r", str(args.rate), "--format", "raw", "-o", raw, "--",
                        sys.executable, "-c", code], check=True)
        text = summarise(raw)
        os.unlink(raw)      # big; the summary is what we keep
    out = args.out or os.path.join(HERE, "profiles", f"{args.mode}-{args.packets}.txt")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
