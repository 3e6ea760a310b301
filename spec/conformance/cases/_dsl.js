"use strict";
// Small helpers shared by the case files.
//
// A case: { name, route = "/verify", method = "GET", only?: [config],
//   setup?: async (ctx) => data, headers: (ctx, data) => [[name, value]],
//   body?: string, sleep?: ms (before each side), exp?: outcome |
//   (ctx, data) => outcome }
// Outcomes (what supertokens-node is expected to answer; checked against
// the SDK side so that the suite itself cannot drift):
//   ok (200 + session), none (200, no session), unauth (401 unauthorised,
//   no clearing), clear (401 unauthorised + clearing headers), refresh
//   (401 try refresh token), claim (403 invalid claim), error (500).

const info = (cfg) => ({
    transfer: cfg.env.ST_TOKEN_TRANSFER_METHOD || "any",
    // the SDK's default follows SameSite (none across sites): the
    // configurations that get VIA_CUSTOM_HEADER that way say so
    csrf: cfg.env.ST_ANTI_CSRF || cfg.csrf ||
        (cfg.name === "crossSite" ? "VIA_CUSTOM_HEADER" : "NONE"),
    ev: (cfg.env.ST_EMAIL_VERIFICATION || "").toUpperCase() === "REQUIRED",
    statik: cfg.env.ST_USE_DYNAMIC_ACCESS_TOKEN_SIGNING_KEY === "false",
});

// Outcome for a request whose only token travels in `transport`
// ("cookie" | "header"): a transport the config does not read means no
// token at all.
function via(ctx, transport, outcome) {
    const t = info(ctx.cfg).transfer;
    if (t !== "any" && t !== transport) return "unauth";
    return outcome;
}

// Anti-CSRF outcome for a cookie-borne valid token on a non-GET method
// with the given request headers (rid / anti-csrf).
function csrfCookie(ctx, { rid, acHeader, acClaim, method = "POST" }) {
    const i = info(ctx.cfg);
    if (i.transfer === "header") return "unauth";
    if (method === "GET" || method === "OPTIONS" || method === "TRACE") {
        return "ok";
    }
    if (i.csrf === "VIA_CUSTOM_HEADER") return rid === undefined ? "refresh"
        : "ok";
    if (i.csrf === "VIA_TOKEN") {
        if (acClaim == null) return "refresh";
        if (acHeader === undefined || acHeader !== acClaim) return "refresh";
    }
    return "ok";
}

const bearer = (t) => ["Authorization", "Bearer " + t];
const cookie = (s) => ["Cookie", s];
const at = (t) => "sAccessToken=" + t;

module.exports = { info, via, csrfCookie, bearer, cookie, at };
