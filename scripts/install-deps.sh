#!/usr/bin/env bash
# Installs the Debian packages zkedge builds, tests and benchmarks with, when missing.
set -euo pipefail
pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev libevent-dev libssl-dev uthash-dev
      libcmocka-dev python3 python3-kazoo python3-pytest libzookeeper-mt-dev zookeeper-bin zookeeper
      netcat-openbsd)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
