-- Test keys and tokens made with the openssl CLI, independently of
-- libstjwt (so a bug there cannot hide in both signer and verifier).
--
--   local keys = require "spec.helpers.keys"
--   local k = keys.rsa(2048, "kid-1")      -- also ec("P-256"), ed25519(),
--                                          -- hmac(32)
--   local tok = keys.token(k, "RS256", { kid = "kid-1" }, { sub = "u" })
--   local jwks = keys.jwks({ k })          -- JSON text with public JWKs
--
-- Header/payload arguments are tables (encoded with cjson) or raw JSON
-- strings (used byte-for-byte).

local cjson = require "cjson.safe"
local bit = require "bit"
local files = require "spec.helpers.files"

local band, bor, lshift, rshift = bit.band, bit.bor, bit.lshift, bit.rshift
local byte, char = string.byte, string.char
local concat = table.concat

local _M = {}

local B64STD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
               .. "0123456789+/"
local B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
               .. "0123456789-_"

local function b64(s, alphabet, pad)
    local out = {}
    for i = 1, #s, 3 do
        local a, b, c = byte(s, i, i + 2)
        local n = bor(lshift(a, 16), lshift(b or 0, 8), c or 0)
        local chunk = {
            alphabet:sub(rshift(n, 18) + 1, rshift(n, 18) + 1),
            alphabet:sub(band(rshift(n, 12), 63) + 1,
                         band(rshift(n, 12), 63) + 1),
            b and alphabet:sub(band(rshift(n, 6), 63) + 1,
                               band(rshift(n, 6), 63) + 1) or
                (pad and "=" or ""),
            c and alphabet:sub(band(n, 63) + 1, band(n, 63) + 1) or
                (pad and "=" or ""),
        }
        out[#out + 1] = concat(chunk)
    end
    return concat(out)
end

function _M.b64url(s)
    return b64(s, B64URL, false)
end

function _M.b64std(s)
    return b64(s, B64STD, true)
end

local DEC = {}
for i = 1, 64 do
    DEC[byte(B64URL, i)] = i - 1
    DEC[byte(B64STD, i)] = i - 1
end

-- Lenient decoder for test data (either alphabet, padding optional).
function _M.b64decode(s)
    s = s:gsub("=+$", "")
    local out, n, bits = {}, 0, 0
    for i = 1, #s do
        local v = DEC[byte(s, i)]
        assert(v, "bad base64 character")
        n = bor(lshift(n, 6), v)
        bits = bits + 6
        if bits >= 8 then
            bits = bits - 8
            out[#out + 1] = char(band(rshift(n, bits), 255))
            n = band(n, lshift(1, bits) - 1)
        end
    end
    return concat(out)
end

function _M.hex2bin(h)
    return (h:gsub("%x%x", function(x) return char(tonumber(x, 16)) end))
end

function _M.bin2hex(s)
    return (s:gsub(".", function(c) return string.format("%02x", byte(c)) end))
end

------------------------------------------------------------------------
-- files and processes
------------------------------------------------------------------------

local tmpdir

function _M.tmpdir()
    if not tmpdir then
        local p = io.popen("mktemp -d /tmp/stjwt-spec.XXXXXX")
        tmpdir = p:read("*l")
        p:close()
        assert(tmpdir and #tmpdir > 0, "mktemp failed")
    end
    return tmpdir
end

local seq = 0
local function tmpfile(suffix)
    seq = seq + 1
    return string.format("%s/f%d%s", _M.tmpdir(), seq, suffix or "")
end

function _M.write_file(path, data)
    files.write(path, data)
    return path
end

_M.read_file = files.must_read

local function run(cmd)
    local p = io.popen(cmd .. " 2>&1")
    local out = p:read("*a")
    local ok, _, code = p:close()
    if not ok and code ~= 0 then
        error("command failed: " .. cmd .. "\n" .. out)
    end
    return out
end

function _M.cleanup()
    if tmpdir then
        os.execute("rm -rf '" .. tmpdir .. "'")
        tmpdir = nil
    end
end

------------------------------------------------------------------------
-- keys
------------------------------------------------------------------------

-- Hex bytes listed after `label` in `openssl pkey -text_pub` output.
local function text_hex(text, label)
    local block = text:match(label .. "%s*\n(.-)\n%S") or
                  text:match(label .. "%s*\n(.*)$")
    assert(block, "no " .. label .. " in openssl output")
    return (block:gsub("[^%x]", ""))
end

local function strip_zeros(bin)
    return (bin:gsub("^%z+", ""))
end

local function left_pad(bin, size)
    bin = strip_zeros(bin)
    assert(#bin <= size, "integer too large")
    return string.rep("\0", size - #bin) .. bin
end

local CURVES = {
    ["P-256"] = { ossl = "P-256", size = 32 },
    ["P-384"] = { ossl = "P-384", size = 48 },
    ["P-521"] = { ossl = "P-521", size = 66 },
}

local function genpkey(args)
    local pem = tmpfile(".pem")
    run("openssl genpkey " .. args .. " -out " .. pem)
    return pem, run("openssl pkey -in " .. pem .. " -text_pub -noout")
end

--- RSA key of `bits` bits; jwk = { kty, n, e, kid? }.
function _M.rsa(bits, kid)
    local pem, text = genpkey("-algorithm RSA -pkeyopt rsa_keygen_bits:"
                              .. (bits or 2048))
    local n = strip_zeros(_M.hex2bin(text_hex(text, "Modulus:")))
    local e = tonumber(text:match("Exponent:%s*(%d+)"))
    local ebin = ""
    while e > 0 do
        ebin = char(e % 256) .. ebin
        e = math.floor(e / 256)
    end
    return {
        kind = "RSA", pem = pem, bits = bits or 2048, kid = kid,
        jwk = { kty = "RSA", n = _M.b64url(n), e = _M.b64url(ebin),
                kid = kid },
    }
end

--- EC key on "P-256" | "P-384" | "P-521".
function _M.ec(crv, kid)
    local c = assert(CURVES[crv], "unknown curve")
    local pem, text = genpkey("-algorithm EC -pkeyopt ec_paramgen_curve:"
                              .. c.ossl)
    local pt = _M.hex2bin(text_hex(text, "pub:"))
    assert(byte(pt, 1) == 4 and #pt == 1 + 2 * c.size, "bad EC point")
    return {
        kind = "EC", pem = pem, crv = crv, size = c.size, kid = kid,
        jwk = { kty = "EC", crv = crv, kid = kid,
                x = _M.b64url(pt:sub(2, 1 + c.size)),
                y = _M.b64url(pt:sub(2 + c.size)) },
    }
end

--- Ed25519 key.
function _M.ed25519(kid)
    local pem, text = genpkey("-algorithm ed25519")
    local pub = _M.hex2bin(text_hex(text, "pub:"))
    assert(#pub == 32, "bad Ed25519 key")
    return {
        kind = "OKP", pem = pem, kid = kid,
        jwk = { kty = "OKP", crv = "Ed25519", x = _M.b64url(pub),
                kid = kid },
    }
end

--- HMAC secret of `len` random bytes (or the given bytes).
function _M.hmac(len_or_secret, kid)
    local secret = len_or_secret
    if type(secret) == "number" then
        local f = assert(io.open("/dev/urandom", "rb"))
        secret = f:read(secret)
        f:close()
    end
    return {
        kind = "oct", secret = secret, kid = kid,
        jwk = { kty = "oct", k = _M.b64url(secret), kid = kid },
    }
end

--- A public JWK table, copied, with extra members merged in.
function _M.jwk(key, extra)
    local t = {}
    for k, v in pairs(key.jwk) do t[k] = v end
    for k, v in pairs(extra or {}) do t[k] = v end
    return t
end

--- JWKS JSON text for a list of keys (or of JWK tables).
function _M.jwks(list)
    local keys = {}
    for i, k in ipairs(list) do
        keys[i] = k.jwk or k
    end
    return (assert(cjson.encode({ keys = keys })))
end

------------------------------------------------------------------------
-- signing
------------------------------------------------------------------------

local HASH = {
    ["256"] = { name = "sha256", len = 32 },
    ["384"] = { name = "sha384", len = 48 },
    ["512"] = { name = "sha512", len = 64 },
}

-- DER ECDSA-Sig-Value -> JOSE r||s.
local function der_to_raw(der, size)
    local pos = 1
    local function read_len()
        local l = byte(der, pos)
        pos = pos + 1
        if l >= 0x80 then
            local nb = l - 0x80
            l = 0
            for _ = 1, nb do
                l = l * 256 + byte(der, pos)
                pos = pos + 1
            end
        end
        return l
    end
    assert(byte(der, pos) == 0x30, "not a DER sequence")
    pos = pos + 1
    read_len()
    local ints = {}
    for i = 1, 2 do
        assert(byte(der, pos) == 0x02, "not a DER integer")
        pos = pos + 1
        local l = read_len()
        ints[i] = der:sub(pos, pos + l - 1)
        pos = pos + l
    end
    return left_pad(ints[1], size) .. left_pad(ints[2], size)
end

--- Raw JWS signature bytes of `input` with key `k` for `alg`.
function _M.sign(k, alg, input)
    local family, bits = alg:match("^(%u%u)(%d+)$")
    local infile = _M.write_file(tmpfile(".in"), input)
    local out = tmpfile(".sig")

    if alg == "EdDSA" then
        run("openssl pkeyutl -sign -rawin -inkey " .. k.pem .. " -in "
            .. infile .. " -out " .. out)
        return _M.read_file(out)
    end

    local h = assert(HASH[bits], "unsupported alg " .. alg)
    if family == "HS" then
        run("openssl dgst -" .. h.name .. " -mac HMAC -macopt hexkey:"
            .. _M.bin2hex(k.secret) .. " -binary -out " .. out .. " "
            .. infile)
        return _M.read_file(out)
    end

    local opts = ""
    if family == "PS" then
        opts = " -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:"
               .. h.len .. " -sigopt rsa_mgf1_md:" .. h.name
    end
    run("openssl dgst -" .. h.name .. " -sign " .. k.pem .. opts
        .. " -out " .. out .. " " .. infile)
    local sig = _M.read_file(out)
    if family == "ES" then
        sig = der_to_raw(sig, k.size or CURVES["P-256"].size)
    end
    return sig
end

local function json(v)
    if type(v) == "string" then
        return v
    end
    return (assert(cjson.encode(v)))
end

--- Compact JWS.  `header` defaults to { alg = alg, typ = "JWT",
-- kid = k.kid }; a string header/payload is used byte-for-byte.
function _M.token(k, alg, header, payload)
    if header == nil then
        header = { alg = alg, typ = "JWT", kid = k.kid }
    end
    local input = _M.b64url(json(header)) .. "." .. _M.b64url(json(payload))
    return input .. "." .. _M.b64url(_M.sign(k, alg, input))
end

--- The token with one bit of its signature flipped (always invalid, and
-- still canonical base64url).
function _M.tamper(token)
    local head, sig = token:match("^(.*%.)([^.]+)$")
    local raw = _M.b64decode(sig)
    raw = string.char(bit.bxor(byte(raw, 1), 1)) .. raw:sub(2)
    return head .. _M.b64url(raw)
end

-- The SuperTokens v2 header segment, padded standard base64 (spec §1.1).
_M.LEGACY_V2_HEADER =
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsInZlcnNpb24iOiIyIn0="
_M.LEGACY_V1_HEADER =
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsInZlcnNpb24iOiIxIn0="

--- A legacy v2 access token as SuperTokens cores minted it: fixed
-- header, padded standard base64 payload and signature, RS256 over the
-- segments exactly as sent.
function _M.legacy_v2_token(k, payload, header_seg)
    local input = (header_seg or _M.LEGACY_V2_HEADER) .. "."
                  .. _M.b64std(json(payload))
    return input .. "." .. _M.b64std(_M.sign(k, "RS256", input))
end

return _M
