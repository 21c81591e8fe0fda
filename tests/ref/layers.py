#!/usr/bin/python3
"""layers.py ROOT — checks the include rules of docs/LAYERS.md: every #include "..." of a
file under formats/ and common/<layer>/ names a file of a layer that layer may use, and
every common/ module lives in a layer folder; and a grep for a function's prefix leads to
one header: the lgp_<word> that starts an exported function name is declared in a single
header of formats/ or common/. Prints one line per breach; exit 1 if any."""
import os, re, sys

root = sys.argv[1]
# layer -> the layers its files may include (itself always)
ALLOWED = {
    "formats": {"lgp"},
    "util": {"lgp", "formats"},
    "nn": {"lgp", "util"},
    "data": {"lgp", "formats", "util"},
    "eval": {"lgp", "formats", "util"},
    "model": {"lgp", "formats", "util", "nn"},
    "train": {"lgp", "formats", "util", "nn", "data", "model"},
}

def layer_of(rel):
    parts = rel.split("/")
    if parts[0] == "formats":
        return "formats"
    if parts[0] == "common":
        if len(parts) == 2:
            return "lgp" if parts[1] == "lgp.h" else "common-root"
        return parts[1]
    return None

bad = 0
for top in ("formats", "common"):
    for dirpath, _, files in os.walk(os.path.join(root, top)):
        for f in sorted(files):
            if not f.endswith((".c", ".h")):
                continue
            rel = os.path.relpath(os.path.join(dirpath, f), root)
            me = layer_of(rel)
            if me == "common-root":
                print(f"{rel}: a common/ module outside a layer folder"); bad += 1; continue
            if me == "lgp":
                continue
            if me not in ALLOWED:
                print(f"{rel}: unknown layer '{me}' (add it to docs/LAYERS.md and tests/ref/layers.py)"); bad += 1; continue
            for n, line in enumerate(open(os.path.join(dirpath, f), encoding="utf-8"), 1):
                m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                if not m:
                    continue
                inc = os.path.normpath(os.path.join(os.path.dirname(rel), m.group(1)))
                if not os.path.exists(os.path.join(root, inc)):
                    inc = m.group(1)  # root-relative (-I.)
                if not os.path.exists(os.path.join(root, inc)):
                    print(f"{rel}:{n}: includes '{m.group(1)}', which is not a file of the tree"); bad += 1; continue
                other = layer_of(inc)
                if other != me and other not in ALLOWED[me]:
                    print(f"{rel}:{n}: layer {me} includes {inc} (layer {other})"); bad += 1
# exported functions: the identifier before "(" on a declaration line of a header
decl = re.compile(r"^(?:[A-Za-z_][\w ]*?[\s*])?(lgp_[a-z0-9]+)(?:_\w*)?\s*\(")
owner = {}
for top in ("formats", "common"):
    for dirpath, _, files in os.walk(os.path.join(root, top)):
        for f in sorted(files):
            if not f.endswith(".h"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, f), root)
            if os.path.splitext(f)[0] == os.path.basename(dirpath):
                continue  # a layer's own header only includes the others
            for line in open(os.path.join(dirpath, f), encoding="utf-8"):
                if line.startswith((" ", "\t", "#", "/", "*", "}", "typedef")):
                    continue
                m = decl.match(line)
                if m:
                    owner.setdefault(m.group(1), set()).add(rel)
for prefix, hs in sorted(owner.items()):
    if len(hs) > 1:
        print(f"{prefix}_*: exported by {', '.join(sorted(hs))} (a prefix belongs to one header)"); bad += 1
sys.exit(1 if bad else 0)
