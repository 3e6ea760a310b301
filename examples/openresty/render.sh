#!/usr/bin/env bash
# Renders examples/openresty/nginx.conf into <prefix>/nginx.conf.
# Usage: render.sh <prefix>
# Env: PORT (8080), ST_NGINX_WORKERS (2), ST_NGINX_DAEMON (on|off, on),
#      ST_NGINX_LOG_LEVEL (warn), ST_BACKEND_URL (unset: no /auth proxy),
#      ST_API_BASE_PATH (/auth), ST_DEFAULT_JWKS (<top>/.demo/jwks.json),
#      ST_SESSION_ROUTE (1: a location verifying every path with a
#      /session/ segment, as /verify; the conformance suite's refresh-path
#      cases)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
prefix=${1:?usage: render.sh <prefix>}
mkdir -p "$prefix/tmp"
prefix=$(cd "$prefix" && pwd)
# Workers drop to "nobody" when nginx starts as root; they only need to
# write request-body temp files.
chmod 1777 "$prefix/tmp" 2>/dev/null || true

port=${PORT:-8080}
workers=${ST_NGINX_WORKERS:-2}
daemon=${ST_NGINX_DAEMON:-on}
level=${ST_NGINX_LOG_LEVEL:-warn}
jwks=${ST_DEFAULT_JWKS:-$top/.demo/jwks.json}
base=${ST_API_BASE_PATH:-/auth}

fail() { echo "render.sh: $*" >&2; exit 2; }
[[ $port =~ ^[0-9]+$ ]] || fail "PORT: not a number: $port"
[[ $workers =~ ^([0-9]+|auto)$ ]] || fail "ST_NGINX_WORKERS: $workers"
[[ $daemon == on || $daemon == off ]] || fail "ST_NGINX_DAEMON: on or off"
[[ $level =~ ^(debug|info|notice|warn|error|crit)$ ]] \
    || fail "ST_NGINX_LOG_LEVEL: $level"
for v in "$top" "$prefix" "$jwks"; do
    [[ $v != *[\|\"\;\ ]* ]] || fail "path with | \" ; or space: $v"
done

proxy=""
if [ -n "${ST_BACKEND_URL:-}" ]; then
    url_re='^https?://[][A-Za-z0-9.:-]+/?$'
    [[ $ST_BACKEND_URL =~ $url_re ]] \
        || fail "ST_BACKEND_URL: want http(s)://host:port, got $ST_BACKEND_URL"
    [[ $base =~ ^/[A-Za-z0-9._/-]*$ ]] || fail "ST_API_BASE_PATH: $base"
    backend=${ST_BACKEND_URL%/}
    proxy="        # The SuperTokens APIs (refresh, signout, sign-in ...) are
        # answered by the backend SDK, never verified here (spec 10.6).
        location ^~ ${base%/}/ {
            proxy_pass $backend;
            proxy_set_header Host \$http_host;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
        }"
fi

if [ "${ST_SESSION_ROUTE:-}" = 1 ]; then
    proxy="$proxy
        # Every path with a /session/ segment (any case): verifySession()
        # as /verify; a POST on the refresh path passes unverified.
        location ~* /session/ {
            content_by_lua_block {
                require(\"resty.supertokens\").user_endpoint()
            }
        }"
fi

awk -v top="$top" -v prefix="$prefix" -v port="$port" -v workers="$workers" \
    -v daemon="$daemon" -v level="$level" -v jwks="$jwks" -v proxy="$proxy" '
    {
        gsub(/@TOP@/, top); gsub(/@PREFIX@/, prefix); gsub(/@PORT@/, port)
        gsub(/@WORKERS@/, workers); gsub(/@DAEMON@/, daemon)
        gsub(/@LOG_LEVEL@/, level); gsub(/@DEFAULT_JWKS@/, jwks)
        if ($0 == "@AUTH_PROXY@") { print proxy; next }
        print
    }' "$here/nginx.conf" > "$prefix/nginx.conf"
echo "$prefix/nginx.conf"
