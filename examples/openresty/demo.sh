#!/usr/bin/env bash
# `make demo`: nginx with lua-resty-supertokens in the foreground on
# 127.0.0.1:$PORT (8080).  Without ST_CONNECTION_URI it needs no core: a dev
# RSA key and its JWKS are made once in .demo/ and served as static keys,
# and a ready curl with a fresh dev token is printed.  Ctrl-C stops it.
# All ST_* variables are honoured (examples/openresty/README.md).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
demo=$top/.demo
port=${PORT:-8080}
mkdir -p "$demo"

make_key() {
    echo "demo: making a dev RSA key and its JWKS in .demo/ (first run)"
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
        -out "$demo/key.pem" 2>/dev/null
    chmod 600 "$demo/key.pem"
    # "d-" = a dynamic key, which the default
    # use_dynamic_access_token_signing_key = true accepts; "d-dev-" = never
    # a core's kid (README "Dev keys never in production" greps for it).
    local kid="d-dev-$(date +%s%3N)"
    local n_hex n
    n_hex=$(openssl rsa -in "$demo/key.pem" -noout -modulus | sed 's/^Modulus=//')
    n=$(perl -e 'print pack("H*", $ARGV[0])' "$n_hex" \
        | openssl base64 -A | tr '+/' '-_' | tr -d '=')
    openssl rsa -in "$demo/key.pem" -noout -text 2>/dev/null \
        | grep -q 'publicExponent: 65537' \
        || { echo "demo: unexpected RSA exponent" >&2; exit 1; }
    printf '%s' "$kid" > "$demo/kid"
    printf '{"keys":[{"kty":"RSA","kid":"%s","n":"%s","e":"AQAB","alg":"RS256","use":"sig"}]}\n' \
        "$kid" "$n" > "$demo/jwks.json"
}

local_keys=0
if [ -z "${ST_CONNECTION_URI:-}" ] && [ -z "${ST_JWKS_FILE:-}" ]; then
    local_keys=1
    if [ ! -s "$demo/key.pem" ] || [ ! -s "$demo/jwks.json" ] \
       || [ ! -s "$demo/kid" ]; then
        make_key
    fi
fi

if ! command -v nginx >/dev/null; then
    echo "demo: nginx not found (run .ci/deps.sh demo)" >&2
    exit 1
fi
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "demo: port $port is busy; try PORT=8090 make demo" >&2
    exit 1
fi

prefix=$demo/nginx
rm -f "$prefix/error.log"
conf=$(PORT=$port ST_NGINX_DAEMON=off ST_NGINX_LOG_LEVEL=${ST_NGINX_LOG_LEVEL:-warn} \
       ST_DEFAULT_JWKS="$demo/jwks.json" "$here/render.sh" "$prefix")

nginx -p "$prefix/" -c "$conf" &
pid=$!
stop() {
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    echo
    echo "demo: stopped"
    exit 0
}
trap stop INT TERM

for _ in $(seq 1 100); do
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "demo: nginx did not start:" >&2
        cat "$prefix/error.log" >&2 2>/dev/null || true
        wait "$pid" || true
        exit 1
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        break
    fi
    sleep 0.1
done

url="http://127.0.0.1:$port"
echo
echo "lua-resty-supertokens demo: nginx on $url (Ctrl-C stops it)"
echo "  error log: $prefix/error.log"
if [ "$local_keys" = 1 ]; then
    token=$("$here/dev-mint.sh" --sub demo-user)
    echo "  keys: local dev JWKS $demo/jwks.json (no core)"
    echo
    echo "Try it (a dev token valid for 1 hour; examples/openresty/dev-mint.sh makes more):"
    echo
    echo "  curl -i $url/api/user -H 'Authorization: Bearer $token'"
    echo
    echo "  curl -i $url/api/user --cookie 'sAccessToken=$token'"
    echo
    echo "  curl -i $url/api/user      # no token: 401 {\"message\":\"unauthorised\"}"
else
    echo "  keys: ${ST_JWKS_FILE:-JWKS from $ST_CONNECTION_URI}"
    echo
    echo "Try it with an access token from your SuperTokens backend:"
    echo
    echo "  curl -i $url/api/user -H \"Authorization: Bearer \$TOKEN\""
fi
echo

wait "$pid"
