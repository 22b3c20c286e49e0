#!/usr/bin/env bash
# Installs the pinned third-party browser code and copies it into static/vendor/ (make vendor).
#
#   bash scripts/vendor.sh          install from scripts/vendor/package-lock.json, rewrite static/vendor
#                                   and tests/browser/vendor
#   bash scripts/vendor.sh --check  verify both against their MANIFESTs (no npm needed)
#
# The copied files are committed, so running the app never needs npm. Versions are pinned exactly
# in scripts/vendor/package.json and the lock file; `npm ci` installs exactly the locked tree into a
# temporary directory (nothing is left in the work tree but static/vendor). Re-running gives the
# same files and the same MANIFEST.
#
# What is vendored:
# - hash-wasm (Argon2id): its own self-contained ES module build, copied unchanged.
# - @hpke/core (RFC 9180 HPKE on WebCrypto): its ES module build imports the bare specifier
#   "@hpke/common", which a browser cannot resolve without a bundler, so esbuild (pinned too)
#   bundles just the suite CRYPTO.md uses into one ES module without imports.
# - @zxcvbn-ts/core with @zxcvbn-ts/language-common and the English feedback sentences of
#   @zxcvbn-ts/language-en (passphrase strength meter): esbuild bundles them, with their own
#   dependencies (fastest-levenshtein, @zxcvbn-ts/dictionary-compression), into one ES module.
#   language-en's word lists are left out (see scripts/vendor/zxcvbn-entry.js).
# - axe-core (accessibility rules), test-only: copied unchanged to tests/browser/vendor/, which
#   the app never serves (the browser tests inject it with Playwright). It has its own MANIFEST.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
spec="$root/scripts/vendor"
out="$root/static/vendor"
manifest="$out/MANIFEST"
test_out="$root/tests/browser/vendor"
test_manifest="$test_out/MANIFEST"

sha256() { sha256sum "$1" | cut -d' ' -f1; }

# check DIR: every file its MANIFEST lists is there with the recorded hash.
check() {
    local dir=$1 name=${1#"$root/"} status=0
    [ -f "$dir/MANIFEST" ] || { echo "vendor: $name/MANIFEST is missing" >&2; return 1; }
    while IFS=$'\t' read -r path _package _version hash; do
        case "$path" in ''|'#'*) continue ;; esac
        if [ ! -f "$dir/$path" ]; then
            echo "vendor: missing $name/$path" >&2; status=1
        elif [ "$(sha256 "$dir/$path")" != "$hash" ]; then
            echo "vendor: $name/$path does not match its MANIFEST hash" >&2; status=1
        fi
    done <"$dir/MANIFEST"
    [ "$status" = 0 ] && echo "vendor: $name matches MANIFEST"
    return "$status"
}

if [ "${1:-}" = "--check" ]; then
    status=0
    check "$out" || status=1
    check "$test_out" || status=1
    exit "$status"
fi
[ $# -eq 0 ] || { echo "usage: $0 [--check]" >&2; exit 2; }

command -v npm >/dev/null || { echo "vendor: npm is needed (apt-get install npm)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$spec/package.json" "$spec/hpke-entry.js" "$spec/crypto-stub.js" "$spec/zxcvbn-entry.js" "$work/"
# --ignore-scripts: no package gets to run code at install time; esbuild's binary comes from its
# platform package (@esbuild/<os>-<arch>), which needs no install script.
npm_flags=(--ignore-scripts --no-audit --no-fund --loglevel=error)
if [ -f "$spec/package-lock.json" ]; then
    cp "$spec/package-lock.json" "$work/"
    (cd "$work" && npm ci "${npm_flags[@]}")
else
    # First run only: resolve the pinned versions and keep the lock file for every later run.
    (cd "$work" && npm install "${npm_flags[@]}")
    cp "$work/package-lock.json" "$spec/package-lock.json"
fi

nm="$work/node_modules"
version() { node -p "require('$nm/$1/package.json').version"; }
hashwasm_v=$(version hash-wasm)
hpke_v=$(version @hpke/core)
common_v=$(version @hpke/common)
esbuild_v=$(version esbuild)
zxcvbn_v=$(version @zxcvbn-ts/core)
zxcommon_v=$(version @zxcvbn-ts/language-common)
zxen_v=$(version @zxcvbn-ts/language-en)
zxdict_v=$(version @zxcvbn-ts/dictionary-compression)
leven_v=$(version fastest-levenshtein)
axe_v=$(version axe-core)

rm -rf "$out/hash-wasm" "$out/hpke-core" "$out/zxcvbn"
mkdir -p "$out/hash-wasm" "$out/hpke-core" "$out/zxcvbn"

cp "$nm/hash-wasm/dist/index.esm.min.js" "$out/hash-wasm/index.esm.min.js"
cp "$nm/hash-wasm/LICENSE" "$out/hash-wasm/LICENSE"

(cd "$work" && "$nm/.bin/esbuild" hpke-entry.js --bundle --format=esm --platform=browser \
    --target=es2020 --legal-comments=inline --log-level=warning \
    --alias:crypto=./crypto-stub.js \
    --banner:js="/* @hpke/core $hpke_v with @hpke/common $common_v (MIT, see LICENSE files here), bundled by scripts/vendor.sh with esbuild $esbuild_v. Do not edit. */" \
    --outfile="$out/hpke-core/hpke.esm.js")
cp "$nm/@hpke/core/LICENSE" "$out/hpke-core/LICENSE"
cp "$nm/@hpke/common/LICENSE" "$out/hpke-core/LICENSE.hpke-common"

(cd "$work" && "$nm/.bin/esbuild" zxcvbn-entry.js --bundle --format=esm --platform=browser \
    --target=es2020 --legal-comments=inline --log-level=warning \
    --banner:js="/* @zxcvbn-ts/core $zxcvbn_v with @zxcvbn-ts/language-common $zxcommon_v, the feedback sentences of @zxcvbn-ts/language-en $zxen_v, @zxcvbn-ts/dictionary-compression $zxdict_v and fastest-levenshtein $leven_v (MIT, see LICENSE files here), bundled by scripts/vendor.sh with esbuild $esbuild_v. Do not edit. */" \
    --outfile="$out/zxcvbn/zxcvbn.esm.js")
cp "$nm/@zxcvbn-ts/core/LICENSE.txt" "$out/zxcvbn/LICENSE"
cp "$nm/@zxcvbn-ts/language-common/LICENSE.txt" "$out/zxcvbn/LICENSE.language-common"
cp "$nm/@zxcvbn-ts/language-en/LICENSE.txt" "$out/zxcvbn/LICENSE.language-en"
cp "$nm/@zxcvbn-ts/dictionary-compression/LICENSE" "$out/zxcvbn/LICENSE.dictionary-compression"
cp "$nm/fastest-levenshtein/LICENSE.md" "$out/zxcvbn/LICENSE.fastest-levenshtein"

# A browser file must not keep a bare import ("from \"pkg\"" or import("pkg")): nothing resolves it.
if grep -nE '(from|import)[ (]*"[^./"][^"]*"' "$out/hpke-core/hpke.esm.js" "$out/hash-wasm/index.esm.min.js" \
        "$out/zxcvbn/zxcvbn.esm.js"; then
    echo "vendor: a bare import specifier is left in a vendored file" >&2
    exit 1
fi

{
    echo "# Third-party browser files in static/vendor. Written by scripts/vendor.sh; do not edit."
    echo "# hpke-core/hpke.esm.js bundles @hpke/core $hpke_v and @hpke/common $common_v (esbuild $esbuild_v)."
    echo "# zxcvbn/zxcvbn.esm.js bundles @zxcvbn-ts/core $zxcvbn_v, @zxcvbn-ts/language-common $zxcommon_v, @zxcvbn-ts/language-en $zxen_v (feedback sentences only), @zxcvbn-ts/dictionary-compression $zxdict_v and fastest-levenshtein $leven_v (esbuild $esbuild_v)."
    echo "# Check: bash scripts/vendor.sh --check"
    printf '# path\tpackage\tversion\tsha256\n'
    row() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$(sha256 "$out/$1")"; }
    row hash-wasm/LICENSE hash-wasm "$hashwasm_v"
    row hash-wasm/index.esm.min.js hash-wasm "$hashwasm_v"
    row hpke-core/LICENSE @hpke/core "$hpke_v"
    row hpke-core/LICENSE.hpke-common @hpke/common "$common_v"
    row hpke-core/hpke.esm.js @hpke/core "$hpke_v"
    row zxcvbn/LICENSE @zxcvbn-ts/core "$zxcvbn_v"
    row zxcvbn/LICENSE.dictionary-compression @zxcvbn-ts/dictionary-compression "$zxdict_v"
    row zxcvbn/LICENSE.fastest-levenshtein fastest-levenshtein "$leven_v"
    row zxcvbn/LICENSE.language-common @zxcvbn-ts/language-common "$zxcommon_v"
    row zxcvbn/LICENSE.language-en @zxcvbn-ts/language-en "$zxen_v"
    row zxcvbn/zxcvbn.esm.js @zxcvbn-ts/core "$zxcvbn_v"
} >"$manifest"

# Test-only: axe-core for the accessibility tests (tests/browser/test_accessibility.py).
mkdir -p "$test_out"
rm -f "$test_out/axe.min.js" "$test_out/LICENSE.axe-core"
cp "$nm/axe-core/axe.min.js" "$test_out/axe.min.js"
cp "$nm/axe-core/LICENSE" "$test_out/LICENSE.axe-core"
{
    echo "# Test-only third-party files in tests/browser/vendor: never served by the app."
    echo "# Written by scripts/vendor.sh; do not edit. Check: bash scripts/vendor.sh --check"
    printf '# path\tpackage\tversion\tsha256\n'
    row() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$(sha256 "$test_out/$1")"; }
    row LICENSE.axe-core axe-core "$axe_v"
    row axe.min.js axe-core "$axe_v"
} >"$test_manifest"

echo "vendor: wrote static/vendor (hash-wasm $hashwasm_v, @hpke/core $hpke_v, @hpke/common $common_v, @zxcvbn-ts/core $zxcvbn_v) and tests/browser/vendor (axe-core $axe_v)"
