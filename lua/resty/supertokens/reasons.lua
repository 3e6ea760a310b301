--- Catalogue of every reason code lua-resty-supertokens emits.
--
-- A reason code is the short word in the log line (`out.reason`), in
-- `supertokens_verifications_total{reason=…}` and in `stjwt` output.  This
-- table says, for each one, which SDK answer it leads to, what it means in
-- plain words, and what supertokens-website does next (spec §5.4).
--
-- Entry fields:
--
-- * `class`: the decision class (`out.class`): `unauthorised`,
--   `try_refresh`, `invalid_claim`, `error`, `no_session`, `skipped`;
--   for parse-stage codes, the class of the request when the token is the
--   only one (it is ignored, as node ignores it: `unauthorised`, or
--   `no_session` with `session_required = false`).
-- * `stage`: `flow`, `parse` (token ignored), `signature` (JWKS + C
--   verify), `jwks` (a JWKS import; logged by the key engine, requests see
--   `jwks_unavailable`), `core`, `claims`.
-- * `clears`: the answer carries the clearing headers (`front-token:
--   remove`, expired cookies).
-- * `sdk_body`: the body node would send (`nil`: the request passes).
-- * `text`: what happened, in plain words.
-- * `frontend`: what supertokens-website does with the answer.
--
-- @module resty.supertokens.reasons

local type = type
local pairs = pairs
local str_gsub = string.gsub

local _M = { _VERSION = "0.1.0" }

local BODY_UNAUTHORISED = '{"message":"unauthorised"}'
local BODY_TRY_REFRESH = '{"message":"try refresh token"}'
local BODY_INVALID_CLAIM = '{"message":"invalid claim",'
                           .. '"claimValidationErrors":[…]}'
local BODY_ERROR = '{"message":"internal error"}'

--- What the frontend does, per class (and for a cleared unauthorised).
-- @table FRONTEND
_M.FRONTEND = {
    try_refresh = "calls POST <apiBasePath>/session/refresh with its "
        .. "refresh token and, on 200, retries the original request (up "
        .. "to 10 times); if the refresh fails the user is logged out",
    unauthorised = "no front-token: remove in the answer, so a frontend "
        .. "that still believes it has a session tries one refresh first; "
        .. "without a session (or if the refresh fails) it fires "
        .. "UNAUTHORISED and the app sends the user to login",
    unauthorised_cleared = "front-token: remove and expired cookies wipe "
        .. "the local session, so it does NOT refresh: it fires "
        .. "UNAUTHORISED and the app sends the user to login",
    invalid_claim = "fires API_INVALID_CLAIM with claimValidationErrors; "
        .. "auth-react redirects to the claim's screen (st-ev: email "
        .. "verification, st-mfa: second factor) or shows access denied; "
        .. "no refresh",
    error = "not a session answer: the call fails like any 500, no "
        .. "refresh and no logout; the app shows its error",
    no_session = "nothing: the request reaches the upstream without an "
        .. "identity (session_required = false)",
    skipped = "nothing: the request passes untouched",
    ok = "nothing: the request reaches the upstream with the identity "
        .. "headers",
}

--- The answer per class, as a short phrase.
-- @table ANSWER
_M.ANSWER = {
    try_refresh = "401 try refresh token",
    unauthorised = "401 unauthorised",
    invalid_claim = "403 invalid claim",
    error = "500 internal error",
    no_session = "pass without a session",
    skipped = "pass (not verified)",
    ok = "pass",
}

local BODY = {
    try_refresh = BODY_TRY_REFRESH,
    unauthorised = BODY_UNAUTHORISED,
    invalid_claim = BODY_INVALID_CLAIM,
    error = BODY_ERROR,
}

local function e(class, stage, text, extra)
    local entry = { class = class, stage = stage, text = text,
                    sdk_body = BODY[class], clears = false }
    if extra then
        for k, v in pairs(extra) do
            entry[k] = v
        end
    end
    entry.frontend = entry.clears and _M.FRONTEND.unauthorised_cleared
                     or _M.FRONTEND[class]
    return entry
end

local IGNORED = " The token is ignored, as node ignores a token it cannot "
                .. "parse: without another token the answer is 401 "
                .. "unauthorised (or no session when session_required is "
                .. "false)."
local SIG = " node's getInfoFromAccessToken fails, which is always "
            .. "TRY_REFRESH_TOKEN."
local JWKS = " The key engine skips or rejects the JWKS; requests then "
             .. "see jwks_unavailable (401 try refresh token)."

-- Every reason code -> its entry (fields: see the module description;
-- read it with reasons.get(code)).
_M.CODES = {
    -- flow (resty.supertokens.decide)
    options = e("skipped", "flow", "OPTIONS request: node's verifySession "
        .. "never checks it."),
    trace = e("skipped", "flow", "TRACE request: never checked."),
    refresh_path = e("skipped", "flow", "POST to the refresh API path: it "
        .. "is the backend's refresh API, passed through unverified."),
    no_token = e("unauthorised", "flow", "No access token: no sAccessToken "
        .. "cookie and no \"Authorization: Bearer\" header (for the "
        .. "allowed transfer method; detail cookie_not_allowed or "
        .. "header_not_allowed: one came the way get_token_transfer_method "
        .. "does not allow).", { no_session_class = true }),
    token_ignored = e("unauthorised", "parse", "A token was present but "
        .. "could not be used (see detail: which transport, why); node "
        .. "ignores such tokens silently, so this is the same as no "
        .. "token.", { no_session_class = true }),
    legacy_id_refresh_token = e("try_refresh", "flow", "An sIdRefreshToken "
        .. "cookie from a pre-2023 SDK is present; node answers try "
        .. "refresh so the refresh API replaces the old cookies."),
    multiple_access_token_cookies = e("try_refresh", "flow", "More than one "
        .. "sAccessToken cookie (e.g. one per cookie domain); the refresh "
        .. "API clears the one on olderCookieDomain."),
    anti_csrf_rid_missing = e("try_refresh", "flow", "Anti-CSRF "
        .. "VIA_CUSTOM_HEADER: a cookie-authenticated non-GET request "
        .. "without an rid header."),
    anti_csrf_header_missing = e("try_refresh", "flow", "Anti-CSRF "
        .. "VIA_TOKEN: the anti-csrf request header is missing."),
    anti_csrf_mismatch = e("try_refresh", "flow", "Anti-CSRF VIA_TOKEN: "
        .. "the anti-csrf header differs from the token's antiCsrfToken."),
    anti_csrf_claim_missing = e("try_refresh", "flow", "Anti-CSRF "
        .. "VIA_TOKEN: the token has no antiCsrfToken claim (it was minted "
        .. "without anti-csrf)."),
    expired = e("try_refresh", "flow", "The access token has expired "
        .. "(exp <= now; v1/v2: expiryTime < now). No leeway, as node."),
    not_before = e("try_refresh", "flow", "The token's nbf is in the "
        .. "future (not valid yet)."),
    bad_time_claim = e("try_refresh", "flow", "exp, nbf or iat is present "
        .. "but not a number."),
    kid_type_mismatch = e("try_refresh", "flow", "The kid's key type does "
        .. "not match use_dynamic_access_token_signing_key (d-… keys are "
        .. "dynamic, s-… static); a refresh re-mints with the configured "
        .. "type."),
    kid_not_string = e("try_refresh", "flow", "The header kid is not a "
        .. "string (node would crash with a TypeError; we ask for a "
        .. "refresh)."),
    core_try_refresh = e("try_refresh", "core", "The core's "
        .. "/recipe/session/verify answered TRY_REFRESH_TOKEN."),
    core_unauthorised = e("unauthorised", "core", "The core's "
        .. "/recipe/session/verify answered UNAUTHORISED: the session was "
        .. "revoked or has ended.", { clears = true }),
    regenerate_unauthorised = e("unauthorised", "core", "The core's "
        .. "/recipe/session/regenerate answered UNAUTHORISED while claims "
        .. "were refreshed: the session no longer exists.",
        { clears = true }),
    claims = e("invalid_claim", "claims", "A claim validator failed (see "
        .. "detail for the validator ids, e.g. st-ev: email not "
        .. "verified)."),
    core_unavailable = e("error", "core", "The core could not be reached, "
        .. "timed out or answered non-200 during a call the decision "
        .. "needed (node: plain Error, 500)."),
    core_bad_response = e("error", "core", "The core answered something "
        .. "that is not the expected JSON."),
    claim_fetch_failed = e("error", "claims", "A claim value could not be "
        .. "fetched from the core (st-ev, st-role, st-perm refetch)."),
    unknown_user_id = e("error", "claims", "The core does not know the "
        .. "token's user id while fetching a claim value."),
    claims_payload_null = e("error", "claims", "A legacy v2 token's "
        .. "userData is null: node's claim validators fail reading it "
        .. "(TypeError, 500), before any core call."),

    -- key engine (resty.supertokens.keys), as check_signature reasons
    jwks_unavailable = e("try_refresh", "signature", "No usable JWKS: "
        .. "every core failed or answered no usable keys, and nothing "
        .. "is cached, or the cached keys are older than "
        .. "jwks_refresh_interval_sec + jwks_max_stale_sec (node: JWKS "
        .. "fetch error)." .. SIG),

    -- libstjwt, signature stage (check_signature)
    alg_not_allowed = e("try_refresh", "signature", "The header alg is not "
        .. "allowed (only RS256 with core keys; none/HS* never)." .. SIG),
    unknown_kid = e("try_refresh", "signature", "No key with this kid, "
        .. "even after a refetch (rotated out, other app, or forged)."
        .. SIG),
    bad_header = e("try_refresh", "signature", "The header has no alg, "
        .. "or an alg that is not a string." .. SIG),
    key_mismatch = e("try_refresh", "signature", "The key found for the "
        .. "kid does not fit the alg (key type or JWK alg)." .. SIG),
    bad_signature = e("try_refresh", "signature", "The signature does not "
        .. "verify: the token was altered or signed by another key."
        .. SIG),
    internal = e("try_refresh", "signature", "Unexpected OpenSSL failure "
        .. "while verifying (logged at error level)." .. SIG),
    nomem = e("try_refresh", "signature", "Out of memory while verifying."
        .. SIG),
    invalid_arg = e("try_refresh", "signature", "Library misuse (a bug: "
        .. "please report)." .. SIG),
    unknown = e("try_refresh", "signature", "A library code this version "
        .. "does not know." .. SIG),

    -- libstjwt, parse stage: the token is ignored
    malformed = e("unauthorised", "parse", "Not three dot-separated "
        .. "segments, or an empty header or payload." .. IGNORED,
        { no_session_class = true }),
    bad_base64 = e("unauthorised", "parse", "A segment is not valid "
        .. "base64url (or padded base64 for v1/v2)." .. IGNORED,
        { no_session_class = true }),
    bad_json = e("unauthorised", "parse", "Header or payload is not a "
        .. "JSON object (or invalid UTF-8)." .. IGNORED,
        { no_session_class = true }),
    duplicate_member = e("unauthorised", "parse", "A JSON member name "
        .. "appears twice (ambiguous token)." .. IGNORED,
        { no_session_class = true }),
    too_large = e("unauthorised", "parse", "The token is longer than "
        .. "max_token_len (16 KiB)." .. IGNORED, { no_session_class = true }),
    too_deep = e("unauthorised", "parse", "JSON nested deeper than "
        .. "max_depth (16)." .. IGNORED, { no_session_class = true }),
    crit = e("unauthorised", "parse", "The header has \"crit\" (critical "
        .. "extensions we do not implement)." .. IGNORED,
        { no_session_class = true }),
    bad_claim = e("unauthorised", "parse", "exp/nbf/iat/stt present but "
        .. "not a finite number." .. IGNORED, { no_session_class = true }),
    json_cookie = e("unauthorised", "parse", "The sAccessToken cookie value "
        .. "starts with \"j:\": express parses it as JSON, so node never "
        .. "sees a token string." .. IGNORED, { no_session_class = true }),
    unparsable = e("unauthorised", "parse", "The token could not be "
        .. "parsed (no more specific code)." .. IGNORED,
        { no_session_class = true }),

    -- resty.supertokens.token: SuperTokens header and structure rules
    -- (spec 1.1, 1.4); the token is ignored
    header_version_type = e("unauthorised", "parse", "The header version "
        .. "is not a JSON string (e.g. \"version\":5)." .. IGNORED,
        { no_session_class = true }),
    header_typ = e("unauthorised", "parse", "The header typ is not "
        .. "\"JWT\"." .. IGNORED, { no_session_class = true }),
    header_version = e("unauthorised", "parse", "The header version is "
        .. "not an integer >= 3 (parseInt rules)." .. IGNORED,
        { no_session_class = true }),
    header_kid = e("unauthorised", "parse", "The header has no kid (a "
        .. "non-SuperTokens JWT, e.g. an HS256 token from elsewhere)."
        .. IGNORED, { no_session_class = true }),
    payload_type = e("unauthorised", "parse", "The payload is not a JSON "
        .. "object." .. IGNORED, { no_session_class = true }),
    stt = e("unauthorised", "parse", "The payload has stt != 0: not a "
        .. "session access token (e.g. an OAuth2 token from the same "
        .. "keys)." .. IGNORED, { no_session_class = true }),
    structure = e("unauthorised", "parse", "A required payload member "
        .. "is missing or mistyped for the token version (v3+: sub, exp, "
        .. "iat, sessionHandle, refreshTokenHash1, v5 also rsub; v1/v2: "
        .. "userId, expiryTime, timeCreated, sessionHandle, "
        .. "refreshTokenHash1, userData)." .. IGNORED,
        { no_session_class = true }),

    -- libstjwt, JWKS import (key engine logs; requests: jwks_unavailable)
    bad_key = e("try_refresh", "jwks", "A JWK has a missing or invalid "
        .. "member, a point not on its curve, or an unsupported kty/crv."
        .. JWKS),
    weak_key = e("try_refresh", "jwks", "A JWK is too weak (RSA < 2048 "
        .. "bits, e < 3, short HMAC secret)." .. JWKS),
    duplicate_kid = e("try_refresh", "jwks", "Two JWKs share a kid; both "
        .. "are unusable." .. JWKS),
    key_use = e("try_refresh", "jwks", "A JWK is not for signatures (use "
        .. "!= sig or key_ops without verify)." .. JWKS),
    no_keys = e("try_refresh", "jwks", "The JWKS has no usable key at all."
        .. JWKS),
    bad_jwks = e("try_refresh", "jwks", "The JWKS body is not JSON the "
        .. "library accepts." .. JWKS),
}

--- Names used in early drafts and other docs → the code emitted.
-- @table ALIASES
_M.ALIASES = {
    not_yet_valid = "not_before",
    anti_csrf_missing_rid = "anti_csrf_rid_missing",
    dup_cookies = "multiple_access_token_cookies",
    legacy_cookie = "legacy_id_refresh_token",
    core_unreachable = "core_unavailable",
    invalid_claim = "claims",
    jwks_invalid = "bad_jwks",
}


--- Look a code up (aliases resolved).
-- @tparam string code
-- @treturn table|nil entry
-- @treturn string|nil canonical code
function _M.get(code)
    if type(code) ~= "string" then
        return nil
    end
    local entry = _M.CODES[code]
    if entry then
        return entry, code
    end
    local canonical = _M.ALIASES[code]
    if canonical then
        return _M.CODES[canonical], canonical
    end
    return nil
end


--- Split a decision detail like `"header:bad_json,cookie:structure"`.
-- @treturn table list of `{ where = "header", code = "bad_json",
-- entry = <entry or nil> }`
function _M.details(detail)
    local list = {}
    if type(detail) ~= "string" then
        return list
    end
    for part in detail:gmatch("[^,]+") do
        local where, code = part:match("^%s*([%w_%-]+):([%w_%-]+)%s*$")
        if not where then
            code = part:match("^%s*(.-)%s*$")
        end
        list[#list + 1] = { where = where, code = code,
                            entry = (_M.get(code)) }
    end
    return list
end


--- One line for humans: answer, meaning and the frontend's next step.
-- @tparam table out a decision (`class`, `reason`, optional `clear`)
-- @treturn string
function _M.describe(out)
    local entry = _M.get(out.reason)
    local class = out.class or entry and entry.class
    local answer = _M.ANSWER[class] or tostring(class)
    local text = entry and entry.text or "unknown reason code"
    local cleared = out.clear or (entry and entry.clears and
                                  class == "unauthorised")
    local frontend = cleared and _M.FRONTEND.unauthorised_cleared
                     or _M.FRONTEND[class] or ""
    return answer .. " (" .. tostring(out.reason) .. "): "
           .. (str_gsub(text, "%s+$", "")) .. " Frontend: " .. frontend
           .. "."
end


--- True when the code is known (directly or as an alias).
function _M.known(code)
    return _M.get(code) ~= nil
end


return _M
