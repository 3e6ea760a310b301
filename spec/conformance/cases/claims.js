"use strict";
// Claim validation (spec §6.3, §12 line 13): EmailVerification REQUIRED
// adds the global st-ev isVerified(10 s) validator. The cases run in every
// configuration; without EmailVerification st-ev is just a claim.
const { info, via, bearer, cookie, at } = require("./_dsl");

const USER = "ev-user";
const EMAIL = "ev-user@example.com";
const cases = [];
// A refetch ends in /recipe/session/regenerate, which (as in the real
// core) needs the session row: every token here is registered with the
// stand-in. `tok` gives the mint options, `via` the transport.
const add = (name, o) => {
    const c = { name: "claims: " + name, ...o };
    if (o.tok) {
        const prev = o.setup;
        c.setup = async (ctx) => {
            const extra = prev ? await prev(ctx) : undefined;
            const t = ctx.T(o.tok(ctx));
            await ctx.core.register(t);
            return { ...(extra || {}), t };
        };
        c.headers = (ctx, d) => [o.transport === "cookie"
            ? cookie(at(d.t)) : bearer(d.t), ...(o.more || [])];
    }
    cases.push(c);
};

const ev = (v, ageMs = 0) => ({ "st-ev": { v, t: Date.now() - ageMs } });
// Outcome in EV-required configs, else "ok".
const evOr = (outcome) => (c) => (info(c.cfg).ev ? outcome : "ok");

async function user(c, verified, email = EMAIL) {
    await c.core.user({ userId: USER, email, verified });
}

add("st-ev true", {
    tok: (c) => ({ sub: USER, claims: ev(true) }),
    exp: (c) => via(c, "header", "ok") });
add("st-ev false, fetched 1 s ago (no refetch)", {
    setup: (c) => user(c, true),
    tok: (c) => ({ sub: USER, claims: ev(false, 1000) }),
    exp: (c) => via(c, "header", evOr("claim")(c)) });
add("st-ev false, fetched 1 s ago, cookie", {
    setup: (c) => user(c, true),
    transport: "cookie", tok: (c) => ({ sub: USER, claims: ev(false, 1000) }),
    exp: (c) => via(c, "cookie", evOr("claim")(c)) });
add("st-ev false, 60 s old, core says verified (regenerate, 200)", {
    setup: (c) => user(c, true),
    tok: (c) => ({ sub: USER, claims: ev(false, 60000) }),
    exp: (c) => via(c, "header", "ok") });
add("st-ev false, 60 s old, core says not verified (403)", {
    setup: (c) => user(c, false),
    tok: (c) => ({ sub: USER, claims: ev(false, 60000) }),
    exp: (c) => via(c, "header", evOr("claim")(c)) });
// t is read with ToNumber: String.prototype.trim()'s whitespace (NBSP,
// U+2028, U+FEFF) around it, or an array holding it, is still a time
add("st-ev false, 60 s old, t with NBSP / U+2028 around (refetch, 200)", {
    setup: (c) => user(c, true),
    tok: (c) => ({ sub: USER, claims: { "st-ev": { v: false,
        t: "\u00a0" + (Date.now() - 60000) + "\u2028" } } }),
    exp: (c) => via(c, "header", "ok") });
add("st-ev false, 60 s old, t as [[t]] (refetch, 200)", {
    setup: (c) => user(c, true),
    tok: (c) => ({ sub: USER, claims: { "st-ev": { v: false,
        t: [[Date.now() - 60000]] } } }),
    exp: (c) => via(c, "header", "ok") });
add("st-ev missing, core says verified, header (new token)", {
    setup: (c) => user(c, true),
    tok: (c) => ({ sub: USER, ev: false }),
    exp: (c) => via(c, "header", "ok") });
add("st-ev missing, core says verified, cookie (new cookie)", {
    setup: (c) => user(c, true),
    transport: "cookie", tok: (c) => ({ sub: USER, ev: false }),
    exp: (c) => via(c, "cookie", "ok") });
// node's validators read payload["st-ev"] (or st-role, st-perm) from a v2
// userData of null: a TypeError (500) before any core call
add("legacy v2 token, userData null", {
    setup: (c) => user(c, true),
    tok: (c) => ({ sub: USER, legacy: 2, set: { userData: null } }),
    exp: (c) => via(c, "header",
        info(c.cfg).ev || c.roles || c.mfa ? "error" : "ok") });
// node's claim merges start from Object.assign({}, userData): an array's
// elements, a string's UTF-16 units under their indexes, nothing for a number
for (const [name, ud] of [["an array", [1, null, { a: 2 }]],
    ["a string", "ab\u00e9\u{1f600}"], ["a number", 5]]) {
    add(`legacy v2 token, userData ${name}`, {
        setup: (c) => user(c, true),
        tok: (c) => ({ sub: USER, legacy: 2, set: { userData: ud } }) });
}
// The Querier's GET queries are URLSearchParams text: space as "+",
// ~ ! ' ( ) escaped
add("st-ev missing, core says verified, a user id with spaces and marks", {
    setup: (c) => c.core.user({ userId: "u é/?&#x~!'()*", email: EMAIL,
        verified: true }),
    tok: (c) => ({ sub: "u é/?&#x~!'()*", ev: false }),
    exp: (c) => via(c, "header", "ok") });
// node merges the refetched claim with Object.assign(), whose __proto__
// setter drops a "__proto__" member from the regenerate body
for (const [name, text] of [["an object", '{"a":1}'], ["a string", '"s"']]) {
    add(`st-ev missing, core says verified, a __proto__ claim (${name})`, {
        setup: (c) => user(c, true),
        tok: (c) => {
            const p = JSON.stringify(c.mint({ sub: USER, ev: false }).payload);
            return { sub: USER, ev: false,
                payloadRaw: p.slice(0, -1) + ',"__proto__":' + text + "}" };
        },
        exp: (c) => via(c, "header", "ok") });
}
add("st-ev missing, core says not verified", {
    setup: (c) => user(c, false),
    tok: (c) => ({ sub: USER, ev: false }),
    exp: (c) => via(c, "header", evOr("claim")(c)) });
add("st-ev missing, core says not verified, cookie", {
    setup: (c) => user(c, false),
    transport: "cookie", tok: (c) => ({ sub: USER, ev: false }),
    exp: (c) => via(c, "cookie", evOr("claim")(c)) });
add("st-ev missing, unknown user", {
    tok: (c) => ({ sub: "nobody-" + c.uuid(), ev: false }),
    exp: (c) => via(c, "header", evOr("error")(c)) });
add("st-ev missing, user without email (counts as verified)", {
    setup: (c) => c.core.user({ userId: USER, email: null }),
    tok: (c) => ({ sub: USER, ev: false }),
    exp: (c) => via(c, "header", "ok") });
add("st-ev missing, rsub differs (fetch by recipe user id)", {
    setup: (c) => c.core.user({ userId: "recipe-7", email: "r7@x.io",
        verified: true, primaryUserId: USER }),
    tok: (c) => ({ sub: USER, rsub: "recipe-7", ev: false }),
    exp: (c) => via(c, "header", "ok") });
add("st-ev missing, /verify-noclaims (no validators)", {
    route: "/verify-noclaims",
    tok: (c) => ({ sub: USER, ev: false }),
    exp: (c) => via(c, "header", "ok") });
add("st-ev false, /verify-noclaims", {
    route: "/verify-noclaims",
    tok: (c) => ({ sub: USER, claims: ev(false) }),
    exp: (c) => via(c, "header", "ok") });
add("st-ev false, /verify-optional", {
    route: "/verify-optional",
    tok: (c) => ({ sub: USER, claims: ev(false) }) });
add("st-ev v = \"yes\" (wrong type)", {
    tok: (c) => ({ sub: USER,
        claims: { "st-ev": { v: "yes", t: Date.now() } } }),
    exp: (c) => via(c, "header", evOr("claim")(c)) });
add("st-ev {} (no v: refetch), verified", {
    setup: (c) => user(c, true),
    tok: (c) => ({ sub: USER, claims: { "st-ev": {} } }),
    exp: (c) => via(c, "header", "ok") });
add("st-ev null (refetch), not verified", {
    setup: (c) => user(c, false),
    tok: (c) => ({ sub: USER, claims: { "st-ev": null } }),
    exp: (c) => via(c, "header", evOr("claim")(c)) });
add("st-ev false without t (no refetch)", {
    setup: (c) => user(c, true),
    tok: (c) => ({ sub: USER,
        claims: { "st-ev": { v: false } } }) });
add("st-ev true with t in the future", {
    tok: (c) => ({ sub: USER,
        claims: { "st-ev": { v: true, t: Date.now() + 864e5 } } }),
    exp: (c) => via(c, "header", "ok") });
add("st-ev missing, regenerate fails (500)", {
    setup: async (c) => {
        await user(c, true);
        await c.core.fault("regenerate", "500");
    },
    tok: (c) => ({ sub: USER, ev: false }),
    exp: (c) => via(c, "header", evOr("error")(c)) });
// a 200 that is no core answer (see cases/core.js): regenerate reads
// response.session of it and throws, or finds status UNAUTHORISED missing
for (const mode of ["html", "json-array", "json-nostatus", "json-null"]) {
    add(`st-ev missing, regenerate answers 200 ${mode}`, {
        setup: async (c) => {
            await user(c, true);
            await c.core.fault("regenerate", mode);
        },
        tok: () => ({ sub: USER, ev: false }) });
}
add("st-ev missing, /user/id fails (500)", {
    setup: async (c) => {
        await user(c, true);
        await c.core.fault("user", "500");
    },
    tok: (c) => ({ sub: USER, ev: false }),
    exp: (c) => via(c, "header", evOr("error")(c)) });
add("st-ev missing, email-verify API garbage", {
    setup: async (c) => {
        await user(c, true);
        await c.core.fault("emailverify", "garbage");
    },
    tok: (c) => ({ sub: USER, ev: false }),
    exp: (c) => via(c, "header", evOr("error")(c)) });
add("st-ev missing, expired token (refresh, no fetch)", {
    setup: (c) => user(c, true),
    tok: (c) => ({ sub: USER, ev: false, expIn: -10 }),
    exp: (c) => via(c, "header", "refresh") });
add("st-ev missing, checkDatabase + verified", {
    route: "/verify-checkdb",
    setup: async (c) => {
        await user(c, true);
        const t = c.T({ sub: USER, ev: false });
        await c.core.register(t);
        return { t };
    },
    headers: (c, d) => [bearer(d.t)], exp: (c) => via(c, "header", "ok") });
add("st-ev missing + prth (core verify, then regenerate)", {
    setup: async (c) => {
        await user(c, true);
        const t = c.T({ sub: USER, ev: false, parentRefreshTokenHash1: "p" });
        await c.core.register(t);
        return { t };
    },
    headers: (c, d) => [bearer(d.t)], exp: (c) => via(c, "header", "ok") });
add("st-ev missing, verified, POST cookie with rid + anti-csrf", {
    method: "POST",
    setup: (c) => user(c, true),
    transport: "cookie", more: [["rid", "session"], ["anti-csrf", "ac-ev"]],
    tok: () => ({ sub: USER, ev: false, antiCsrfToken: "ac-ev" }) });
add("st-ev missing, verified, session unknown to the core " +
    "(regenerate UNAUTHORISED)", {
    setup: (c) => user(c, true),
    headers: (c) => [bearer(c.T({ sub: USER, ev: false }))],
    exp: (c) => via(c, "header", evOr("clear")(c)) });
add("st-ev missing, legacy v2 token, verified", {
    setup: async (c) => {
        await user(c, true);
        const t = c.T({ sub: USER, ev: false, legacy: 2 });
        await c.core.register(t);
        return { t };
    },
    headers: (c, d) => [bearer(d.t)] });
add("st-ev false + other custom claims kept", {
    // with role validators (max age 60 s) st-role is refetched too
    setup: async (c) => {
        await user(c, true);
        if (c.roles) {
            await c.core.role("admin", ["read", "write"]);
            await c.core.userRoles(USER, ["admin"]);
        }
    },
    tok: (c) => ({ sub: USER, claims: { ...ev(false, 60000),
        "st-role": { v: ["admin"], t: 1 }, custom: { a: [1, 2] } } }),
    exp: (c) => via(c, "header", "ok") });
module.exports = cases;
