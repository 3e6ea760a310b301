"use strict";
// Cases that make the verifier call the core (spec §6.2, §10.1, §12 line 12,
// Appendix A CORE_VERIFY): parentRefreshTokenHash1, checkDatabase, the v2
// fallback, revocation, and core faults. The stand-in's state is the same
// for both sides (snapshot/restore around each request).
const { via, info, bearer, cookie, at } = require("./_dsl");

// Session created and refreshed through the core itself, as a real login
// then refresh would: returns the child access token (prth set).
async function refreshedSession(c, o = {}) {
    const useDynamicSigningKey = c.goodKey === "dynamic";
    const payload = { iss: c.iss, ...c.baseClaims(), ...(o.payload || {}) };
    const s = await c.core.create(o.userId || "user-core",
        { antiCsrf: o.antiCsrf, payload, useDynamicSigningKey });
    if (o.noRefresh) return { t: s.accessToken.token, s };
    const r = await c.core.refresh(s.refreshToken.token,
        { antiCsrf: o.antiCsrf ? s.antiCsrfToken : undefined,
            useDynamicSigningKey });
    return { t: r.accessToken.token, s: r, ac: r.antiCsrfToken };
}

async function registered(c, o = {}) {
    const t = c.T(o);
    await c.core.register(t, o.register || {});
    return { t };
}

const cases = [];
const add = (name, o) => cases.push({ name: "core: " + name, ...o });

add("created session (core-minted token) via header", {
    setup: (c) => refreshedSession(c, { noRefresh: true }),
    headers: (c, d) => [bearer(d.t)], exp: (c) => via(c, "header", "ok") });
add("created session via cookie", {
    setup: (c) => refreshedSession(c, { noRefresh: true }),
    headers: (c, d) => [cookie(at(d.t))], exp: (c) => via(c, "cookie", "ok") });
add("refreshed session, first use, header (promote + new token)", {
    setup: (c) => refreshedSession(c),
    headers: (c, d) => [bearer(d.t)], exp: (c) => via(c, "header", "ok") });
add("refreshed session, first use, cookie (promote + new cookie)", {
    setup: (c) => refreshedSession(c),
    headers: (c, d) => [cookie(at(d.t))], exp: (c) => via(c, "cookie", "ok") });
add("refreshed session, header, POST rid", {
    method: "POST", setup: (c) => refreshedSession(c),
    headers: (c, d) => [bearer(d.t), ["rid", "session"]],
    exp: (c) => via(c, "header", "ok") });
add("refreshed session, VIA_TOKEN-style anti-csrf, POST cookie", {
    method: "POST", setup: (c) => refreshedSession(c, { antiCsrf: true }),
    headers: (c, d) => [cookie(at(d.t)), ["rid", "session"],
        ["anti-csrf", d.ac]],
    exp: (c) => via(c, "cookie", "ok") });
add("refreshed session, anti-csrf claim, POST cookie wrong header", {
    method: "POST", setup: (c) => refreshedSession(c, { antiCsrf: true }),
    headers: (c, d) => [cookie(at(d.t)), ["rid", "session"],
        ["anti-csrf", "wrong"]] });
add("refreshed session on the optional route", {
    route: "/verify-optional", setup: (c) => refreshedSession(c),
    headers: (c, d) => [bearer(d.t)] });
add("refreshed session, session revoked before use", {
    setup: async (c) => {
        const d = await refreshedSession(c);
        await c.core.revoke(d.s.session.handle);
        return d;
    },
    headers: (c, d) => [bearer(d.t)],
    exp: (c) => via(c, "header", "clear") });
add("refreshed session, second use of the same child token", {
    setup: async (c) => {
        const d = await refreshedSession(c);
        // A first verify promotes; the same token then still re-mints.
        await c.core.verify(d.t);
        return d;
    },
    headers: (c, d) => [bearer(d.t)] });
add("minted token with prth, session registered (header)", {
    setup: (c) => registered(c, { parentRefreshTokenHash1: "abc123" }),
    headers: (c, d) => [bearer(d.t)], exp: (c) => via(c, "header", "ok") });
add("minted token with prth, session registered (cookie)", {
    setup: (c) => registered(c, { parentRefreshTokenHash1: "abc123" }),
    headers: (c, d) => [cookie(at(d.t))], exp: (c) => via(c, "cookie", "ok") });
// node echoes the request's anti-csrf header with the new token: an empty
// one as "anti-csrf:" (an empty value clears an nginx header), and the
// header's characters (latin1 bytes) go out as UTF-8, to the core too
add("prth, session registered, empty anti-csrf header (echoed empty)", {
    setup: (c) => registered(c, { parentRefreshTokenHash1: "abc123" }),
    headers: (c, d) => [bearer(d.t), ["anti-csrf", ""]],
    exp: (c) => via(c, "header", "ok") });
add("prth, session registered, non-ASCII anti-csrf header (echoed)", {
    setup: (c) => registered(c, { parentRefreshTokenHash1: "abc123" }),
    headers: (c, d) => [bearer(d.t), ["anti-csrf", "ac-\u00e9"]],
    exp: (c) => via(c, "header", "ok") });
add("prth, optional route, empty anti-csrf header (echoed empty)", {
    route: "/verify-optional",
    setup: (c) => registered(c, { parentRefreshTokenHash1: "abc123" }),
    headers: (c, d) => [cookie(at(d.t)), ["anti-csrf", ""]],
    exp: (c) => (via(c, "cookie", "ok") === "ok" ? "ok" : "none") });
add("minted token with prth, no session in the core", {
    headers: (c) => [bearer(c.T({ parentRefreshTokenHash1: "abc123" }))],
    exp: (c) => via(c, "header", "clear") });
add("minted token with prth, no session, cookie", {
    headers: (c) => [cookie(at(c.T({ parentRefreshTokenHash1: "abc" })))],
    exp: (c) => via(c, "cookie", "clear") });
add("prth empty string, session registered", {
    setup: (c) => registered(c, { parentRefreshTokenHash1: "" }),
    headers: (c, d) => [bearer(d.t)] });
add("prth set and token expired (no core call)", {
    headers: (c) => [bearer(c.T({ parentRefreshTokenHash1: "abc",
        expIn: -5 }))],
    exp: (c) => via(c, "header", "refresh") });
add("prth set and signed with the other key type", {
    headers: (c) => [bearer(c.T({ parentRefreshTokenHash1: "abc",
        key: c.wrongKey }))],
    exp: (c) => via(c, "header", "refresh") });
add("prth set, core verify answers 500", {
    setup: async (c) => {
        const d = await registered(c, { parentRefreshTokenHash1: "abc" });
        await c.core.fault("verify", "500");
        return d;
    },
    headers: (c, d) => [bearer(d.t)], exp: (c) => via(c, "header", "error") });
add("prth set, core verify answers garbage", {
    setup: async (c) => {
        const d = await registered(c, { parentRefreshTokenHash1: "abc" });
        await c.core.fault("verify", "garbage");
        return d;
    },
    headers: (c, d) => [bearer(d.t)], exp: (c) => via(c, "header", "error") });
// A 200 that is no core answer: node's Querier keeps a text/* body as a
// string and parses the rest as JSON; getSession then reads
// response.status (a string, [] or {} have none: try refresh; null throws)
for (const [mode, x] of [["html", "refresh"], ["json-array", "refresh"],
    ["json-nostatus", "refresh"], ["json-null", "error"]]) {
    add(`prth set, core verify answers 200 ${mode}`, {
        setup: async (c) => {
            const d = await registered(c, { parentRefreshTokenHash1: "abc" });
            await c.core.fault("verify", mode);
            return d;
        },
        headers: (c, d) => [bearer(d.t)],
        exp: (c) => via(c, "header", x) });
    add(`checkDatabase: core verify answers 200 ${mode}`, {
        route: "/verify-checkdb",
        setup: async (c) => {
            const d = await registered(c, {});
            await c.core.fault("verify", mode);
            return d;
        },
        headers: (c, d) => [bearer(d.t)],
        exp: (c) => via(c, "header", x) });
}
add("prth set, core drops the connection", {
    setup: async (c) => {
        const d = await registered(c, { parentRefreshTokenHash1: "abc" });
        await c.core.fault("verify", "down");
        return d;
    },
    headers: (c, d) => [bearer(d.t)], exp: (c) => via(c, "header", "error") });
add("prth set, core slow (700 ms)", {
    setup: async (c) => {
        const d = await registered(c, { parentRefreshTokenHash1: "abc" });
        await c.core.fault("verify", "slow", { ms: 700 });
        return d;
    },
    headers: (c, d) => [bearer(d.t)], exp: (c) => via(c, "header", "ok") });
// checkDatabase (route /verify-checkdb).
const db = (name, o) => add("checkDatabase: " + name,
    { route: "/verify-checkdb", ...o });
db("session registered, header", {
    setup: (c) => registered(c), headers: (c, d) => [bearer(d.t)],
    exp: (c) => via(c, "header", "ok") });
db("session registered, cookie", {
    setup: (c) => registered(c), headers: (c, d) => [cookie(at(d.t))],
    exp: (c) => via(c, "cookie", "ok") });
db("no session (revoked), header", {
    headers: (c) => [bearer(c.T())], exp: (c) => via(c, "header", "clear") });
db("no session (revoked), cookie", {
    headers: (c) => [cookie(at(c.T()))],
    exp: (c) => via(c, "cookie", "clear") });
db("revoked through the core", {
    setup: async (c) => {
        const d = await registered(c);
        await c.core.revoke(c.mintDecode(d.t).payload.sessionHandle);
        return d;
    },
    headers: (c, d) => [cookie(at(d.t))],
    exp: (c) => via(c, "cookie", "clear") });
db("payload in core differs (re-mint)", {
    setup: (c) => registered(c, { register: { userDataInJWT: {
        iss: c.iss, role: "new", ...c.baseClaims() } } }),
    headers: (c, d) => [bearer(d.t)], exp: (c) => via(c, "header", "ok") });
db("created session (core-minted), header", {
    setup: (c) => refreshedSession(c, { noRefresh: true }),
    headers: (c, d) => [bearer(d.t)], exp: (c) => via(c, "header", "ok") });
db("refreshed session, cookie", {
    setup: (c) => refreshedSession(c),
    headers: (c, d) => [cookie(at(d.t))], exp: (c) => via(c, "cookie", "ok") });
db("expired token (no core call)", {
    headers: (c) => [bearer(c.T({ expIn: -1 }))],
    exp: (c) => via(c, "header", "refresh") });
db("no token", { headers: () => [], exp: "unauth" });
// node trims the token's sub (sanitizeStringInput) but takes the core's
// userId as it comes.
db("sub with spaces around it, session registered", {
    setup: (c) => registered(c, { sub: "  gen-user  " }),
    headers: (c, d) => [bearer(d.t)], exp: (c) => via(c, "header", "ok") });
db("core verify 500", {
    setup: async (c) => {
        const d = await registered(c);
        await c.core.fault("verify", "500");
        return d;
    },
    headers: (c, d) => [bearer(d.t)], exp: (c) => via(c, "header", "error") });
db("legacy v2 token, session registered", {
    setup: (c) => registered(c, { legacy: 2 }),
    headers: (c, d) => [bearer(d.t)], exp: (c) => via(c, "header", "ok") });
db("POST cookie, rid, anti-csrf claim + header", {
    method: "POST",
    setup: (c) => registered(c, { antiCsrfToken: "ac-db" }),
    headers: (c, d) => [cookie(at(d.t)), ["rid", "session"],
        ["anti-csrf", "ac-db"]],
    exp: (c) => (info(c.cfg).transfer === "header" ? "unauth" : "ok") });
db("v3 token (no tId), session registered", {
    setup: (c) => registered(c, { version: "3", drop: ["rsub"], tId: null }),
    headers: (c, d) => [bearer(d.t)] });
db("v5 token without tId, session registered", {
    setup: (c) => registered(c, { tId: null }),
    headers: (c, d) => [bearer(d.t)] });
// v2 fallback to the core (JWKS verification failed, token recent).
add("legacy v2 tampered, session registered (core decides)", {
    setup: async (c) => {
        const t = c.T({ legacy: 2, tamper: true });
        await c.core.register(t);
        return { t };
    },
    headers: (c, d) => [bearer(d.t)] });
add("legacy v2 with prth, session registered", {
    setup: (c) => registered(c, { legacy: 2,
        parentRefreshTokenHash1: "p2" }),
    headers: (c, d) => [bearer(d.t)], exp: (c) => via(c, "header", "ok") });
module.exports = cases;
