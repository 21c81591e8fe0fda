# lib.sh — shared helpers for pipeline tests (sourced). Each test runs in a fresh temp
# dir with the built programs first in PATH, and prints TAP.
set -u
set +e
# A test's own make runs must not join the make that runs the suite (make -j2 check):
# its jobserver and flags would change their output ("jobserver unavailable").
unset MAKEFLAGS MFLAGS MAKELEVEL
LGP_BUILD=${LGP_BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build}
export PATH="$LGP_BUILD/bin:$PATH"
PYTHON=${PYTHON:-/usr/bin/python3}
TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FMNIST=${FMNIST:-/usr/share/datasets/fashion-mnist}
T=$(mktemp -d "${TMPDIR:-/tmp}/lgp-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
tap_n=0
tap_fail=0

ok() { # ok COND_EXIT_STATUS DESCRIPTION
    tap_n=$((tap_n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $tap_n - $2"; else echo "not ok $tap_n - $2"; tap_fail=$((tap_fail + 1)); fi
}
# losses_close REF.jsonl OTHER.jsonl STEPS MIN MAX: both logs have STEPS "loss" lines and
# the worst per-step |other - ref| / |ref| lies in [MIN, MAX) (MIN > 0: the runs must differ);
# prints both series as a TAP comment. Its status goes to ok.
losses_close() {
    "$PYTHON" - "$@" <<'PY'
import json, sys
ref, oth = ([json.loads(l)["loss"] for l in open(f)] for f in sys.argv[1:3])
n, lo, hi = int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
assert len(ref) == len(oth) == n, (len(ref), len(oth))
worst = max(abs(y - x) / abs(x) for x, y in zip(ref, oth))
print("# losses, %s: %s; %s: %s; worst relative difference %.2g" % (sys.argv[1], " ".join("%.6f" % x for x in ref),
      sys.argv[2], " ".join("%.6f" % y for y in oth), worst))
sys.exit(0 if lo <= worst < hi else 1)
PY
}
# expect_exit WANT DESC -- CMD...: runs CMD (stdout to out, stderr to err)
expect_exit() {
    local want=$1 desc=$2; shift 3
    "$@" >out 2>err; local got=$?
    [ "$got" -eq "$want" ]; local r=$?
    ok $r "$desc (exit $got, want $want)"
    [ $r -eq 0 ] || { echo "#   stderr:"; sed 's/^/#   /' err | head -n 5; }
    return 0
}
# expect_err_line GLOB DESC: err holds exactly one line matching GLOB
expect_err_line() {
    local n; n=$(wc -l <err)
    # shellcheck disable=SC2053
    if [ "$n" -eq 1 ] && [[ $(cat err) == $1 ]]; then ok 0 "$2"; else ok 1 "$2"; echo "#   stderr ($n lines):"; sed 's/^/#   /' err | head -n 5; fi
}
expect_empty_out() { if [ -s out ]; then ok 1 "$1 (stdout not empty)"; else ok 0 "$1"; fi; }
done_testing() { echo "1..$tap_n"; [ "$tap_fail" -eq 0 ]; }
# readme_block TEXT: the first ```sh block of README.md after TEXT, on stdout (empty if none).
readme_block() {
    "$PYTHON" - "$TESTS_DIR/../README.md" "$1" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
at = text.find(sys.argv[2])
m = re.search(r"```sh\n(.*?)```", text[at:], re.S) if at >= 0 else None
print(m.group(1) if m else "", end="")
PY
}
# readme_cmd FILE FROM TO: the lines of FILE whose command (the line without its trailing
# `# comment` and blanks) is exactly FROM become TO (comment dropped); one test point that
# fails when no line is FROM, so a README that changed a command fails the test.
readme_cmd() {
    local n
    n=$(FROM="$2" TO="$3" "$PYTHON" - "$1" <<'PY'
import os, re, sys
p, n, out = sys.argv[1], 0, []
for line in open(p).read().split("\n"):
    if re.sub(r"\s+#.*$", "", line).strip() == os.environ["FROM"]:
        line, n = os.environ["TO"], n + 1
    out.append(line)
open(p, "w").write("\n".join(out))
print(n)
PY
)
    [ "${n:-0}" -ge 1 ]; ok $? "README command '$2' found and run as: $3"
}
# A shell as fresh as a new login's: no variable of ours (PATH, LGP_*, PYTHON, ...).
fresh_bash() { env -i HOME="$T" LANG=C.UTF-8 TERM=dumb PATH=/usr/local/bin:/usr/bin:/bin bash --noprofile --norc -euo pipefail "$@"; }
