#!/usr/bin/env bash
# The mtx front's consumers (issue 13): Bacula's mtx-changer (Debian package bacula-sd) and
# Amanda's robot.pm (amanda-common), fetched with `apt-get download` and unpacked with
# `dpkg -x` into a cache (never installed). Prints the environment lines the tests read:
#   REEL_BACULA_SD_DIR=…   REEL_AMANDA_DIR=…
# Usage: .ci/consumers.sh CACHE_DIR   (idempotent: a package already unpacked is kept)
set -euo pipefail
cache=$(realpath -m "${1:?usage: .ci/consumers.sh CACHE_DIR}")
mkdir -p "$cache"
need_update=1
for pkg in bacula-sd amanda-common; do
  dest=$cache/$pkg
  case $pkg in
  bacula-sd) probe=etc/bacula/scripts/mtx-changer; var=REEL_BACULA_SD_DIR ;;
  amanda-common) probe=usr/lib/x86_64-linux-gnu/amanda/perl/Amanda/Changer/robot.pm; var=REEL_AMANDA_DIR ;;
  esac
  if [ ! -f "$dest/$probe" ]; then
    dl=$cache/deb-$pkg
    rm -rf "$dl" "$dest"
    mkdir -p "$dl"
    if ! (cd "$dl" && apt-get download "$pkg" >/dev/null 2>&1); then
      if [ "$need_update" = 1 ]; then
        apt-get update -qq >/dev/null
        need_update=0
      fi
      (cd "$dl" && apt-get download "$pkg" >/dev/null 2>&1)
    fi
    dpkg -x "$dl"/*.deb "$dest"
    test -f "$dest/$probe"
  fi
  echo "$var=$dest"
done
