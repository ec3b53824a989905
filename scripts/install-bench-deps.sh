#!/usr/bin/env bash
# Installs what bench/transfers.py needs: the Debian packages in
# bench-apt-packages.txt (servers and peer tools) and, in the venv, moto's
# server (part of the `test` extra). Idempotent: skips apt entirely when every
# package is already installed. Usage: scripts/install-bench-deps.sh [VENV_BIN]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${1:-$here/../.venv/bin}"
mapfile -t pkgs < <(grep -vE '^\s*(#|$)' "$here/bench-apt-packages.txt")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing system packages (need root to install): ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  # The Debian package starts its own Apache on port 80; the benchmark starts
  # its own instances and does not need that one.
  if command -v systemctl >/dev/null && systemctl is-active -q apache2 2>/dev/null; then
    systemctl stop apache2 || true
  fi
fi
"$bin/python" -c "import moto.server, boto3" 2>/dev/null \
  || "$bin/pip" install -q -c "$here/../constraints.txt" 'moto[server]' boto3
# py-spy records the worker and the server for `bench/transfers.py --profile`.
[ -x "$bin/py-spy" ] || "$bin/pip" install -q 'py-spy>=0.3'
