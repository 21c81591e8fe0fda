#!/usr/bin/env bash
# Every program has a man page with the house sections, and groff finds nothing to
# warn about in any of them; the example pipelines in --help use real flags.
. "$(dirname "$0")/lib.sh"
src="$TESTS_DIR/../bin"
for c in "$src"/lgp-*.c; do
    p=$(basename "$c" .c)
    m="$src/$p.1"
    if [ ! -f "$m" ]; then ok 1 "$p: man page missing"; continue; fi
    w=$(groff -man -ww -z "$m" 2>&1)
    [ -z "$w" ]; ok $? "$p.1: groff -man -ww is silent"
    [ -z "$w" ] || echo "$w" | sed 's/^/#   /' | head -n 5
    miss=""
    for s in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" EXAMPLES "SEE ALSO"; do
        grep -q "^\.SH \"\?$s" "$m" || miss="$miss $s"
    done
    [ -z "$miss" ]; ok $? "$p.1: has every section${miss:+ (missing:$miss)}"
    "$LGP_BUILD/bin/$p" --help >help.out 2>/dev/null
    [ $? -eq 0 ] && grep -q 'example' help.out; ok $? "$p --help exits 0 and shows an example"
done
# The example pipelines in --help use only flags their programs have.
"$PYTHON" "$TESTS_DIR/ref/help_examples.py" "$LGP_BUILD/bin" >ex.out 2>&1
ok $? "every flag in the --help examples exists"
sed 's/^/#   /' ex.out | head -n 5
done_testing
