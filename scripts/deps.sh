#!/bin/sh
# Installs the Debian packages Overleg needs, only those that are missing.
#   scripts/deps.sh          build + run dependencies
#   scripts/deps.sh test     ... plus what `make test` needs
#   scripts/deps.sh bench    ... plus what `make bench` needs
#   scripts/deps.sh fuzz     ... plus what `make fuzz` needs
# POSIX sh on purpose: the Makefile runs it as `sh scripts/deps.sh` (dash), before bash is a given.
set -eu

pkgs="build-essential pkg-config libevent-dev libpq-dev libjansson-dev libssl-dev
      libargon2-dev libunistring-dev postgresql postgresql-contrib"
for extra in "$@"; do
    case "$extra" in
        # clang and its sanitizer and libFuzzer runtimes build the fuzz harnesses (tests/fuzz)
        test)  pkgs="$pkgs libcmocka-dev python3-pytest python3-requests python3-psycopg2 valgrind openssl
                     clang libclang-rt-dev" ;;
        fuzz)  pkgs="$pkgs clang libclang-rt-dev" ;;
        bench) pkgs="$pkgs wrk" ;;
        *) echo "deps.sh: unknown argument '$extra' (expected: test, bench, fuzz)" >&2; exit 2 ;;
    esac
done

missing=
for p in $pkgs; do
    # dpkg-query fails for never-seen packages and prints e.g. "deinstall ok config-files"
    # for removed ones; only "install ok installed" counts.
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps.sh: installing$missing" >&2
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
# A fresh Debian image has no package lists; update only when we really install.
$sudo apt-get update -qq
# shellcheck disable=SC2086 # word splitting of $missing is intended
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
