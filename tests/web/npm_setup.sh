#!/bin/sh
# ctest fixture of the node tests: installs the exact packages of
# package-lock.json (openai, playwright-core) into DIR/node_modules with
# `npm ci`, skipped when DIR already holds this lock file's install.
# Fails loudly when node or npm is missing: these tests must not pass silently.
# usage: npm_setup.sh SOURCE_DIR DIR
set -e
src="$1"
dir="$2"
if ! command -v node >/dev/null 2>&1; then
  echo "FAIL: node is not installed; run scripts/install_deps.sh (Debian package nodejs)" >&2
  exit 1
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "FAIL: npm is not installed; run scripts/install_deps.sh (Debian package npm)" >&2
  exit 1
fi
mkdir -p "$dir"
if [ -d "$dir/node_modules" ] && cmp -s "$src/package-lock.json" "$dir/installed-lock.json"; then
  echo "node packages already installed in $dir"
  exit 0
fi
cp "$src/package.json" "$src/package-lock.json" "$dir/"
cd "$dir"
if ! npm ci --no-audit --no-fund --loglevel=error; then
  echo "FAIL: npm ci could not install the test packages (is the npm registry reachable?)" >&2
  exit 1
fi
cp package-lock.json installed-lock.json
echo "node packages installed in $dir"
