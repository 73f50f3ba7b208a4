#!/usr/bin/env bash
# Runs each cumulative-sum experiment for a few epochs and checks what it prints and writes.
set -euo pipefail
out="${TEST_TMPDIR:-$(mktemp -d)}"
fail() { echo "FAIL: $*" >&2; exit 1; }

for binary in "$@"; do
  name="$(basename "$binary")"
  log="$out/$name.log"
  "$binary" --epochs=3 --seed=1 --out_dir="$out" >"$log" 2>&1 || { cat "$log"; fail "$name exited non-zero"; }
  grep -q "us/step" "$log" || fail "$name printed no training time"
  case "$name" in
    *classification)
      [ "$(grep -c '^Epoch [0-9]*/3 - loss: [0-9.]* - acc: [0-9.]*$' "$log")" -eq 3 ] || { cat "$log"; fail "$name: expected 3 epoch lines"; }
      [ "$(grep -c '^Expected: \[[01]\] Predicted \[[01]\]$' "$log")" -eq 10 ] || fail "$name: expected 10 prediction lines"
      grep -q "Total params" "$log" || fail "$name printed no summary"
      ;;
    *)
      csv="$out/$name.csv"
      [ -s "$csv" ] && [ -s "$out/$name.png" ] || fail "$name wrote no CSV or PNG"
      [ "$(wc -l <"$csv")" -eq 4 ] || fail "$name: CSV should have a header and 3 rows"
      head -c 8 "$out/$name.png" | od -An -c | grep -q 'P   N   G' || fail "$name: not a PNG"
      grep -q "Wrote $csv" "$log" || fail "$name did not say where it wrote"
      ;;
  esac
done

# Bad input gets a clear error and no half-written file.
if "$1" --epochs=1 --out_dir=/nonexistent/dir >"$out/bad.log" 2>&1; then
  case "$(basename "$1")" in *classification) ;; *) fail "expected an error for a missing --out_dir" ;; esac
fi
echo "smoke: all experiments ran"
