#!/usr/bin/env bash
# Installs the Debian packages the build, the tests and the demo need, and
# only those that are missing, so a second run costs a few dpkg queries.
# Usage: .ci/deps.sh [build|test|demo|bench]   (default: test)
set -euo pipefail

build_pkgs=(gcc make libssl-dev luajit2 libluajit2-5.1-dev lua-cjson
            lua-resty-core lua-resty-lrucache nginx-light libnginx-mod-http-lua
            openssl curl ca-certificates publicsuffix)
test_pkgs=(lua-busted lua-socket lua-check luarocks clang libclang-rt-14-dev
           valgrind nodejs npm chromium lua-ldoc lua-markdown lua-yaml)
bench_pkgs=(wrk libjwt-dev gnuplot-nox)

case "${1:-test}" in
    build|demo) want=("${build_pkgs[@]}") ;;
    test)       want=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
    bench)      want=("${build_pkgs[@]}" "${bench_pkgs[@]}") ;;
    all)        want=("${build_pkgs[@]}" "${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
    *) echo "usage: $0 [build|test|demo|bench|all]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
    # nodejs/npm may come from outside Debian (this image ships its own).
    case "$p" in
        nodejs) command -v node >/dev/null && continue ;;
        npm)    command -v npm >/dev/null && continue ;;
    esac
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$st" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
