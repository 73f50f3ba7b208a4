#!/usr/bin/env bash
# The npm references (tools/npm/package.json) load from the runfiles, as the export tests use them.
set -euo pipefail
export NODE_PATH="$TEST_SRCDIR/npm/node_modules"
node "$TEST_SRCDIR/seqlearn/tools/npm/references_load_test.js"
