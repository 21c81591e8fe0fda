#!/usr/bin/python3
"""help_examples.py BINDIR — every flag used in the example pipelines of every program's
--help exists in the --help of the program it is given to (an example that names a
flag nobody has, like `lgp-embed --ckpt`, fails). Prints one line per problem."""
import os, re, subprocess, sys

bindir = sys.argv[1]
progs = sorted(p for p in os.listdir(bindir) if p.startswith("lgp-") or p == "tar-images")
helps = {p: subprocess.run([os.path.join(bindir, p), "--help"], capture_output=True, text=True).stdout for p in progs}
# the flags a program documents: its --help before the examples
flags = {p: set(re.findall(r"--[a-z][a-z0-9-]*", h.split("\nexample")[0])) for p, h in helps.items()}
bad = 0
for p, h in helps.items():
    i = h.find("\nexample")
    if i < 0:
        continue
    current = None
    for line in h[i + 1:].splitlines()[1:]:
        if not line.strip():
            if current is not None:
                current = None
            continue
        if not line.startswith(" "):
            break
        for seg in re.split(r"[|;{}()'\"]", line):
            words = seg.split()
            if words and words[0] in flags:
                current = words[0]
                words = words[1:]
            for w in words:
                f = w.split("=")[0]
                if re.fullmatch(r"--[a-z][a-z0-9-]*", f) and current and f not in flags[current]:
                    print(f"{p} --help example: {current} has no {f}")
                    bad += 1
sys.exit(1 if bad else 0)
