"use strict";
// The refresh path (appInfo.apiGatewayPath + apiBasePath + /session/refresh)
// and the cookie Paths (accessTokenPath, the refresh path) that answers
// carry; exposeAccessTokenToFrontendInCookieBasedAuth on relays.
//
// verifySession() compares NormalisedURLPath(req.originalUrl) with
// refreshTokenPath (apiGatewayPath included, the request's own path not
// prefixed) and runs refreshSessionInRequest for a POST there. Both sides
// have a verified route on every path with a /session/ segment
// (ST_SESSION_ROUTE / SDK_APP_REFRESH_PASSES, set by run.js): the SDK's
// refresh branch answers 200 with no session where it would call the core,
// as the gateway answers a request it passes unverified. So "none" here
// means "node took the refresh branch" and "refresh" (401 try refresh
// token, the expired access token) means it verified the request.
const NormalisedURLPath =
    require("supertokens-node/lib/build/normalisedURLPath").default;
const { via, bearer, cookie, at } = require("./_dsl");

const cases = [];
const add = (name, o) => cases.push({ name: "paths: " + name, ...o });

const nup = (p) => new NormalisedURLPath(p);
// refreshTokenPath as node builds it (utils.js normaliseInputAppInfo...)
function refreshPath(cfg, withGateway = true) {
    const gw = withGateway && cfg.env.ST_API_GATEWAY_PATH
        ? nup(cfg.env.ST_API_GATEWAY_PATH) : nup("");
    return gw.appendPath(nup(cfg.env.ST_API_BASE_PATH || "/auth"))
        .appendPath(nup("/session/refresh")).getAsStringDangerous();
}
const P = (c) => refreshPath(c.cfg);

// An expired access token in every transport, a refresh token in both
// (the header one is the same Authorization value), rid for
// VIA_CUSTOM_HEADER: node's refresh branch always reaches refreshSession.
const expiredBoth = (c) => {
    const t = c.T({ expIn: -10 });
    return [bearer(t), cookie(at(t) + "; sRefreshToken=rt-1"),
        ["rid", "session"]];
};

// [name, path of the config, method, does node take the refresh branch]
const shapes = [
    ["POST refresh path", (c) => P(c), "POST", true],
    ["POST refresh path, query", (c) => P(c) + "?a=1&b=%20", "POST", true],
    ["POST refresh path, query naming another path",
        (c) => P(c) + "?/x/session/refresh/", "POST", true],
    ["POST refresh path, trailing slash", (c) => P(c) + "/", "POST", true],
    ["POST refresh path, two trailing slashes", (c) => P(c) + "//", "POST",
        false],
    ["POST refresh path, trailing /.", (c) => P(c) + "/.", "POST", true],
    ["POST refresh path, ./ segment",
        (c) => P(c).replace("/session/", "/session/./"), "POST", true],
    ["POST refresh path, x/../ segment",
        (c) => P(c).replace("/session/", "/x/../session/"), "POST", true],
    ["POST refresh path, %2e%2E segment",
        (c) => P(c).replace("/session/", "/x/%2e%2E/session/"), "POST", true],
    ["POST refresh path, backslash and ..",
        (c) => "/x\\../" + P(c).slice(1), "POST", true],
    ["POST refresh path, doubled slash",
        (c) => P(c).replace("/session/", "//session/"), "POST", false],
    ["POST refresh path, upper case", (c) => P(c).toUpperCase(), "POST",
        false],
    ["POST refresh path, %72efresh",
        (c) => P(c).replace("/refresh", "/%72efresh"), "POST", false],
    ["POST refresh path, ;param", (c) => P(c) + ";x", "POST", false],
    ["POST refresh path + suffix", (c) => P(c) + "x", "POST", false],
    ["POST refresh path + segment", (c) => P(c) + "/x", "POST", false],
    // absolute-form request target: originalUrl is the whole URL and
    // NormalisedURLPath keeps its path
    ["POST refresh path, absolute-form target",
        (c) => "http://localhost:3001" + P(c), "POST", true],
    ["GET refresh path, absolute-form target",
        (c) => "http://localhost:3001" + P(c), "GET", false],
    ["GET refresh path", (c) => P(c), "GET", false],
    ["PUT refresh path", (c) => P(c), "PUT", false],
    ["DELETE refresh path", (c) => P(c), "DELETE", false],
    // the path the backend behind an API gateway sees: node's middleware
    // prefixes it with apiGatewayPath, verifySession() does not
    ["POST refresh path without apiGatewayPath",
        (c) => refreshPath(c.cfg, false), "POST",
        (c) => !c.cfg.env.ST_API_GATEWAY_PATH],
    ["POST refresh path with apiGatewayPath twice",
        (c) => (c.cfg.env.ST_API_GATEWAY_PATH
            ? nup(c.cfg.env.ST_API_GATEWAY_PATH).getAsStringDangerous()
            : "/gw") + P(c), "POST", false],
    ["POST /session/refresh under another base",
        () => "/other/session/refresh", "POST",
        (c) => P(c) === "/other/session/refresh"],
];
for (const [name, path, method, isRefresh] of shapes) {
    add(name, { route: (c) => path(c), method, headers: expiredBoth,
        exp: (c) => ((typeof isRefresh === "function" ? isRefresh(c)
            : isRefresh) ? "none" : "refresh") });
}
// (A refresh-branch request without a refresh token is not here: node's
// refresh answers 401 unauthorised itself, the gateway passes it to the
// backend's refresh API, which answers that.)

// Relays and clearing with an allowed Origin: Set-Cookie Paths,
// st-access-token (exposeAccessToken...) and the
// Access-Control-Expose-Headers list the cors middleware adds to.
async function refreshedSession(c) {
    const useDynamicSigningKey = c.goodKey === "dynamic";
    const payload = { iss: c.iss, ...c.baseClaims() };
    const s = await c.core.create("user-paths", { payload,
        useDynamicSigningKey });
    const r = await c.core.refresh(s.refreshToken.token,
        { useDynamicSigningKey });
    return { t: r.accessToken.token };
}
add("relay in cookie mode on a /session/ path, allowed Origin", {
    route: (c) => P(c), setup: refreshedSession,
    headers: (c, d) => [cookie(at(d.t)), ["Origin", c.origin]],
    exp: (c) => via(c, "cookie", "ok") });
add("relay in header mode, allowed Origin", {
    setup: refreshedSession,
    headers: (c, d) => [bearer(d.t), ["Origin", c.origin]],
    exp: (c) => via(c, "header", "ok") });
add("relay in cookie mode, POST rid, allowed Origin", {
    method: "POST", setup: refreshedSession,
    headers: (c, d) => [cookie(at(d.t)), ["rid", "session"],
        ["Origin", c.origin]] });
add("relay in cookie mode, both transports (header wins)", {
    setup: refreshedSession,
    headers: (c, d) => [bearer(d.t), cookie(at(d.t)), ["Origin", c.origin]] });
add("relay in cookie mode on the optional route", {
    route: "/verify-optional", setup: refreshedSession,
    headers: (c, d) => [cookie(at(d.t))] });
add("clearing on a revoked session, checkDatabase, cookie, Origin", {
    route: "/verify-checkdb",
    headers: (c) => [cookie(at(c.T()) + "; sRefreshToken=rt-1"),
        ["Origin", c.origin]],
    exp: (c) => via(c, "cookie", "clear") });
add("clearing on a revoked session, checkDatabase, header", {
    route: "/verify-checkdb", headers: (c) => [bearer(c.T())],
    exp: (c) => via(c, "header", "clear") });

module.exports = cases;
