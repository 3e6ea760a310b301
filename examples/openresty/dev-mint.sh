#!/usr/bin/env bash
# DEVELOPMENT ONLY.  Mints a SuperTokens-shaped v5 access token signed with
# the demo's local RSA key (.demo/key.pem), so the demo can be tried without
# a SuperTokens core.  Real tokens come from the core (createNewSession /
# refresh); never give this script or the demo key to anything real.
#
# Usage: dev-mint.sh [--sub ID] [--exp-in SECONDS] [--claims JSON]
#                    [--key PEM] [--kid KID]
#   --sub     user id (letters, digits, . _ @ + -), default "demo-user"
#   --exp-in  lifetime in seconds (negative: already expired), default 3600
#   --claims  extra payload members, a JSON object, e.g.
#             '{"st-ev":{"v":true,"t":0}}'
#   --key     private key (PEM), default <repo>/.demo/key.pem
#   --kid     key id, default the content of <repo>/.demo/kid
# The issuer is ${ST_API_DOMAIN:-http://localhost:3001}${ST_API_BASE_PATH:-/auth}.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
demo=$(cd "$here/../.." && pwd)/.demo

sub=demo-user
exp_in=3600
claims=""
key=$demo/key.pem
kid=""

while [ $# -gt 0 ]; do
    case "$1" in
        --sub) sub=$2; shift 2 ;;
        --exp-in) exp_in=$2; shift 2 ;;
        --claims) claims=$2; shift 2 ;;
        --key) key=$2; shift 2 ;;
        --kid) kid=$2; shift 2 ;;
        -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "dev-mint.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

[[ $sub =~ ^[A-Za-z0-9._@+-]+$ ]] || { echo "dev-mint.sh: bad --sub" >&2; exit 2; }
[[ $exp_in =~ ^-?[0-9]+$ ]] || { echo "dev-mint.sh: bad --exp-in" >&2; exit 2; }
[ -r "$key" ] || { echo "dev-mint.sh: no key at $key (run make demo once)" >&2; exit 2; }
if [ -z "$kid" ]; then
    kid=$(cat "$demo/kid")
fi
[[ $kid =~ ^[A-Za-z0-9._-]+$ ]] || { echo "dev-mint.sh: bad kid" >&2; exit 2; }

extra=""
if [ -n "$claims" ]; then
    inner=$(printf '%s' "$claims" | sed -e 's/^[[:space:]]*{//' -e 's/}[[:space:]]*$//')
    [ -n "$inner" ] && extra=",$inner"
fi

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

now=$(date +%s)
exp=$((now + exp_in))
handle=$(cat /proc/sys/kernel/random/uuid)
rth=$(head -c 32 /dev/urandom | openssl dgst -sha256 -hex | sed 's/^.*= //')
iss="${ST_API_DOMAIN:-http://localhost:3001}${ST_API_BASE_PATH:-/auth}"

header="{\"kid\":\"$kid\",\"typ\":\"JWT\",\"version\":\"5\",\"alg\":\"RS256\"}"
payload="{\"sub\":\"$sub\",\"exp\":$exp,\"iat\":$now,\"tId\":\"public\",\"rsub\":\"$sub\",\"sessionHandle\":\"$handle\",\"refreshTokenHash1\":\"$rth\",\"parentRefreshTokenHash1\":null,\"antiCsrfToken\":null,\"iss\":\"$iss\"$extra}"

input="$(printf '%s' "$header" | b64url).$(printf '%s' "$payload" | b64url)"
sig=$(printf '%s' "$input" | openssl dgst -sha256 -sign "$key" | b64url)
printf '%s.%s\n' "$input" "$sig"
