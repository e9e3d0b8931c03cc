#!/usr/bin/env bash
# Config and input errors are reported before any work, naming file, line
# and key; every rank exits non-zero; no output file is left behind.
source "$(dirname "$0")/common.sh"
base=tests/data/bad/bad.ini

# expect_error NAME PATTERN CONFIG [extra args]: run at -np 2, each rank
# records its exit code; all must be 2, the message must match PATTERN.
expect_error() {
    local name=$1 pattern=$2 cfg=$3
    shift 3
    local out=$TMP/err_$name
    rm -rf "$out" "$out".rc.*
    mpirun -np 2 sh -c "$DDW link --config '$cfg' --out '$out' $* 2>>'$out.log'; echo \$? >'$out.rc.'\$OMPI_COMM_WORLD_RANK"
    for r in 0 1; do
        [ "$(cat "$out.rc.$r")" = 2 ] || { echo "$name: rank $r exit $(cat "$out.rc.$r")"; exit 1; }
    done
    grep -E -q -e "$pattern" "$out.log" || { echo "$name: message does not match '$pattern':"; cat "$out.log"; exit 1; }
    if [ -e "$out/link.h5" ] || ls "$out"/.link.h5.tmp* >/dev/null 2>&1; then
        echo "$name: output file left behind"; exit 1
    fi
    # and mpirun itself fails
    if mpirun -np 2 $DDW link --config "$cfg" --out "$out" "$@" 2>/dev/null; then
        echo "$name: mpirun exited 0"; exit 1
    fi
    echo "$name: ok: $(head -1 "$out.log")"
}

sed 's|path = tests/data/bad/people.csv|path = tests/data/bad/no-such-file.csv|' $base >"$TMP/missing_file.ini"
expect_error missing_file "missing_file.ini:6: \[source.people\] path: cannot open 'tests/data/bad/no-such-file.csv'" "$TMP/missing_file.ini"

sed 's|^dob = born|dob = birthday|' $base >"$TMP/missing_column.ini"
expect_error missing_column "missing_column.ini:10: \[source.people\] dob: column 'birthday' is not in the header of tests/data/bad/people.csv" "$TMP/missing_column.ini"

printf '[match]\nthreshhold = 5\n' | cat $base - >"$TMP/unknown_key.ini"
expect_error unknown_key "unknown_key.ini:2[0-9]: \[match\] threshhold: unknown key" "$TMP/unknown_key.ini"

expect_error bad_value "--set #1: \[match\] threshold: 'abc' is not a number" $base --set match.threshold=abc
expect_error unknown_set_key "--set #2: \[compare.surname\] levelz: unknown key" $base --set match.threshold=3 --set compare.surname.levelz=1
expect_error no_config_file "cannot read config file 'tests/data/bad/nope.ini'" tests/data/bad/nope.ini
sed 's|^levels = exact, else|levels = exact, swap_dm, else|; s|^m = 0.9, 0.1|m = 0.8, 0.1, 0.1|; s|^u = 0.01, 0.99|u = 0.01, 0.01, 0.98|' $base >"$TMP/bad_level.ini"
expect_error bad_level "bad_level.ini:[0-9]+: \[compare.surname\] levels: 'swap_dm' is not a level of method string" "$TMP/bad_level.ini"
echo "all config errors reported on every rank"
