#!/usr/bin/env bash
# Debian packages the book needs beyond Python: TeX for the PDF, poppler for checking it,
# iproute2 for the offline build (a network namespace with loopback only),
# Chromium for the browser check. Skipped when all are present.
set -euo pipefail
packages=(texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended texlive-xetex
          fonts-freefont-otf latexmk poppler-utils chromium iproute2)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "system packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
echo "installed: ${missing[*]}"
