"use strict";
// The core connection (supertokens.connectionURI, supertokens.apiKey; the
// gateway's connection_uri, api_key): what node's Querier does with a core
// that refuses the key, and with several cores (spec §2.1, §2.2, §6.2;
// node lib/build/querier.js sendRequestHelper, combinedRemoteJWKSet.js).
//
// node's Querier, per call: the host at the process-wide lastTriedIndex,
// the index moved on by one; a fetch that throws "fetch failed" /
// ECONNREFUSED (no answer at all) -> the next host, at most one try per
// host; a 429 -> the next host after 10 + 250 n ms (5 per URL); any other
// answer but 200 -> an Error thrown to the app (500 here), no next host.
// The JWKS: one jose set per core, tried in order on each lookup, the
// first that yields the key wins (any error -> the next core).
//
// The stand-in's listener faults (POST /__standin/listener) make one core
// of several answer every call on its port (JWKS included).
const { bearer } = require("./_dsl");

const cases = [];
const add = (name, o) => cases.push({ name: "connection: " + name, ...o });

// a token that needs the core: parentRefreshTokenHash1 set, session row
// registered (POST /recipe/session/verify promotes it)
async function promotable(c, o = {}) {
    const t = c.T({ parentRefreshTokenHash1: "prth-conn", ...o });
    await c.core.register(t);
    return { t };
}

// a token without st-ev, its user verified in the core: the EV claim is
// fetched (GET /recipe/user/email/verify) and the token regenerated
async function evRefetch(c) {
    await c.core.user({ userId: "conn-user", email: "conn@example.com",
        verified: true });
    const t = c.T({ sub: "conn-user", ev: false });
    await c.core.register(t);
    return { t };
}

// ---- apiKey: the core does not take the configured key
const KEYED = ["apiKey", "xCoresTwo"];
const OTHER_KEY = "st-conformance-other-key-8d3b61";
add("core with other api keys: verify answered 401", {
    only: KEYED,
    setup: async (c) => {
        const d = await promotable(c);
        await c.core.config({ api_keys: OTHER_KEY });
        return d;
    },
    headers: (c, d) => [bearer(d.t)], exp: "error" });
add("core with other api keys: checkDatabase", {
    only: KEYED, route: "/verify-checkdb",
    setup: async (c) => {
        await c.core.register(c.T());
        await c.core.config({ api_keys: OTHER_KEY });
        return {};
    },
    headers: (c) => [bearer(c.T())], exp: "error" });
add("core with other api keys: email verification refetch", {
    only: KEYED,
    setup: async (c) => {
        const d = await evRefetch(c);
        await c.core.config({ api_keys: OTHER_KEY });
        return d;
    },
    headers: (c, d) => [bearer(d.t)], exp: "error" });
add("core with other api keys: no core call needed", {
    only: KEYED,
    setup: async (c) => {
        await c.core.config({ api_keys: OTHER_KEY });
        return {};
    },
    headers: (c) => [bearer(c.T())], exp: "ok" });
add("core keys list has ours among others", {
    only: KEYED,
    setup: async (c) => {
        const d = await promotable(c);
        await c.core.config({ api_keys: OTHER_KEY + "," +
            c.cfg.env.ST_API_KEY });
        return d;
    },
    headers: (c, d) => [bearer(d.t)], exp: "ok" });

// ---- several cores: a sequence of calls (placement compared per call)
const TWO = ["xCoresTwo", "xCoresDeadFirst", "xCoresFailingFirst"];
for (let i = 1; i <= 5; i++) {
    add(`several cores: verify call ${i} of a sequence`, {
        only: TWO, setup: (c) => promotable(c),
        headers: (c, d) => [bearer(d.t)] });
    add(`several cores: checkDatabase call ${i} of a sequence`, {
        only: TWO, route: "/verify-checkdb",
        setup: async (c) => {
            const t = c.T();
            await c.core.register(t);
            return { t };
        },
        headers: (c, d) => [bearer(d.t)] });
}
// two core calls in one request (email verification refetch: GET
// /recipe/user/email/verify, then POST /recipe/session/regenerate)
for (let i = 1; i <= 3; i++) {
    add(`several cores: two calls in one request ${i}`, {
        only: TWO,
        setup: evRefetch, headers: (c, d) => [bearer(d.t)] });
}

// ---- the first core fails (xCoresTwo: "main" is the first)
const FIRST_MODES = ["down", "500", "404", "html", "401"];
for (const mode of FIRST_MODES) {
    for (let i = 1; i <= 2; i++) {
        add(`first core ${mode}: verify ${i}`, {
            only: ["xCoresTwo"],
            setup: async (c) => {
                const d = await promotable(c);
                await c.core.listener(c.core.ports.main, mode);
                return d;
            },
            headers: (c, d) => [bearer(d.t)] });
    }
    add(`first core ${mode}: email verification refetch`, {
        only: ["xCoresTwo"],
        setup: async (c) => {
            const d = await evRefetch(c);
            await c.core.listener(c.core.ports.main, mode);
            return d;
        },
        headers: (c, d) => [bearer(d.t)] });
    // a new kid: both sides fetch the JWKS again (600 ms: the cooldown)
    add(`first core ${mode}: JWKS after a key rotation`, {
        only: ["xCoresTwo", "xCoresFailingFirst"], sleep: 600,
        setup: async (c) => {
            const r = await c.core.rotate();
            await c.core.listener(c.core.ports[c.cfg.cores[0]], mode);
            return { t: c.T({ key: r.kid }) };
        },
        headers: (c, d) => [bearer(d.t)], exp: "ok" });
}
add("both cores down: verify", {
    only: ["xCoresTwo"],
    setup: async (c) => {
        const d = await promotable(c);
        await c.core.listener(c.core.ports.main, "down");
        await c.core.listener(c.core.ports.second, "down");
        return d;
    },
    headers: (c, d) => [bearer(d.t)], exp: "error" });
add("both cores down: JWKS after a key rotation", {
    only: ["xCoresTwo", "xCoresDeadFirst"], sleep: 600,
    setup: async (c) => {
        const r = await c.core.rotate();
        for (const n of c.cfg.cores) {
            if (n !== "dead") await c.core.listener(c.core.ports[n], "down");
        }
        return { t: c.T({ key: r.kid }) };
    },
    headers: (c, d) => [bearer(d.t)], exp: "refresh" });
add("dead first core: JWKS after a key rotation", {
    only: ["xCoresDeadFirst"], sleep: 600,
    setup: async (c) => {
        const r = await c.core.rotate();
        return { t: c.T({ key: r.kid }) };
    },
    headers: (c, d) => [bearer(d.t)], exp: "ok" });
// 429 on the first core once: node tries the next host after 10 ms
add("first core 429 once: verify", {
    only: TWO,
    setup: async (c) => {
        const d = await promotable(c);
        await c.core.fault("verify", "429", { count: 1 });
        return d;
    },
    headers: (c, d) => [bearer(d.t)] });
module.exports = cases;
