#!/bin/sh
# Installs the Debian packages the build and tests need, only those missing.
# Run as root (or with sudo available); does nothing when all are present.
set -e
PKGS="cmake ninja-build g++ make pkg-config libhwy-dev nlohmann-json3-dev libpcre2-dev \
libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev libreadline-dev python3 \
libcpp-httplib-dev libcurl4-openssl-dev libssl-dev chromium"
missing=""
for p in $PKGS; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
# The server's node tests (tests/web) need node and npm; a node installed
# from elsewhere (it bundles npm) is kept rather than replaced.
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -z "$missing" ] && exit 0
echo "installing Debian packages:$missing"
if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
  echo "error: missing packages:$missing (run as root or install them)" >&2; exit 1; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing
