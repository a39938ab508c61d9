#!/usr/bin/env bash
# Debian packages the book needs beyond Python: TeX for the PDF, poppler for checking it,
# iproute2 for the offline build (a network namespace with loopback only),
# Chromium for the browser check, npm for the accessibility engine (axe-core, by package name,
# into NKREPORT_NODE_PREFIX, default /opt/nkreport-node; tests/chromium.py finds it there).
# Skipped when all are present.
set -euo pipefail
node_prefix="${NKREPORT_NODE_PREFIX:-/opt/nkreport-node}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
install_axe() {
  if [ ! -f "$node_prefix/node_modules/axe-core/axe.min.js" ]; then
    if ! command -v npm > /dev/null; then
      $SUDO apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends npm > /dev/null
    fi
    npm install --prefix "$node_prefix" --no-audit --no-fund --silent axe-core@4
    echo "installed: axe-core into $node_prefix"
  fi
}
packages=(texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended texlive-xetex
          fonts-freefont-otf latexmk poppler-utils chromium iproute2)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "system packages present"
  install_axe
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
echo "installed: ${missing[*]}"
install_axe
