"use strict";
// Seeded generator: mutates valid tokens and requests (segments, base64,
// JSON members, alg/kid/version/typ, exp/nbf, cookies vs headers,
// methods, anti-CSRF headers). Pure differential: no expectation, the SDK
// answer is the reference.
const crypto = require("crypto");
const { decode } = require("../support/core/mint");

function prng(seed) {
    let a = seed >>> 0;
    const next = () => {
        a = (a + 0x6D2B79F5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    return {
        next,
        int: (n) => Math.floor(next() * n),
        pick: (arr) => arr[Math.floor(next() * arr.length)],
        chance: (p) => next() < p,
    };
}

const nowS = () => Math.floor(Date.now() / 1000);

// Token-level mutations. Each: [label, (r, c) => mint options] applied
// before signing, so the signature stays valid unless the label says not.
const MINT_MUTATIONS = [
    ["plain", () => ({})],
    ["expired", (r) => ({ expIn: -1 - r.int(100000) })],
    // exp is whole seconds from a floored now: expIn 3 leaves the SDK and
    // then the gateway more than 2 s (with 1, under 1 s: a race).
    ["exp soon", (r) => ({ expIn: 3 + r.int(5) })],
    ["exp float", () => ({ exp: nowS() + 100.25 })],
    ["exp string", () => ({ set: { exp: String(nowS() + 100) } })],
    ["exp bool", () => ({ set: { exp: true } })],
    ["exp object", () => ({ set: { exp: { v: 1 } } })],
    ["iat string", () => ({ set: { iat: "x" } })],
    ["iat null", () => ({ set: { iat: null } })],
    ["nbf future", (r) => ({ claims: { nbf: nowS() + 10 + r.int(1000) } })],
    ["nbf past", () => ({ claims: { nbf: nowS() - 10 } })],
    ["nbf string", () => ({ claims: { nbf: "1" } })],
    ["drop claim", (r) => ({ drop: [r.pick(["sub", "rsub", "tId",
        "sessionHandle", "refreshTokenHash1", "parentRefreshTokenHash1",
        "antiCsrfToken", "iat", "exp", "iss"])] })],
    ["claim type", (r) => ({ set: { [r.pick(["sub", "rsub", "tId",
        "sessionHandle", "refreshTokenHash1", "antiCsrfToken"])]:
        r.pick([0, 1, null, true, [], {}, "", " x "]) } })],
    ["stt", (r) => ({ claims: { stt: r.pick([0, 1, 2, "0", null, -0]) } })],
    ["version", (r) => ({ version: r.pick(["3", "4", "5", "6", "05", " 5",
        "5x", "2", "1", "0", "", "v5", 5, 3, null, "99"]) })],
    ["version3 shape", () => ({ version: "3", drop: ["rsub", "tId"] })],
    ["version4 shape", () => ({ version: "4", drop: ["rsub"] })],
    ["typ", (r) => ({ typ: r.pick(["JWT", "jwt", "JOSE", "at+jwt", "",
        null]) })],
    ["alg", (r) => ({ alg: r.pick(["RS256", "RS384", "PS256", "HS256",
        "none", "ES256", "rs256", ""]) })],
    ["alg signed", (r) => {
        const a = r.pick(["PS256", "RS512", "HS256", "none"]);
        return { alg: a, sign: a };
    }],
    ["kid", (r, c) => ({ kid: r.pick([null, "", "d-1", "s-1", "x",
        c.kids.static, c.kids.dynamic, c.kids.rogue]) })],
    ["key", (r) => ({ key: r.pick(["dynamic", "static", "rogue"]) })],
    ["prth", () => ({ parentRefreshTokenHash1: "p" +
        crypto.randomBytes(4).toString("hex") })],
    ["anti-csrf claim", () => ({ antiCsrfToken: "ac-gen" })],
    ["st-ev", (r) => ({ ev: false, claims: r.chance(0.5) ? {} : {
        "st-ev": { v: r.chance(0.5), t: Date.now() -
            r.pick([0, 5000, 60000]) } } })],
    ["sub spaces", () => ({ sub: "  gen-user  " })],
    ["tenant", (r) => ({ tId: r.pick(["public", "t1", null]) })],
    ["crit", (r) => ({ header: { crit: r.pick([["exp"], [], "x",
        ["b64"]]) } })],
    ["b64 std", (r) => ({ b64: r.pick(["std", "stdpad"]),
        claims: { p: "??>>" } })],
    ["legacy", (r) => ({ legacy: r.pick([1, 2]),
        expIn: r.pick([3600, -10]) })],
    ["tamper", () => ({ tamper: true })],
    ["extra header member", (r) => ({ header: { [r.pick(["jku", "x5u",
        "cty", "zip", "b64", "foo"])]: r.pick(["x", false, 1]) } })],
    ["custom claims", (r) => ({ claims: { n: r.int(1000),
        arr: [1, "two", null], o: { deep: { er: r.chance(0.5) } } } })],
];

// Mutations of the encoded token string (after signing).
const STRING_MUTATIONS = [
    ["none", (t) => t],
    ["flip char", (t, r) => {
        // The flip changes what the token says, not how strictly it is
        // decoded (non-canonical encodings are the strict-base64url
        // cases' job): never a legacy token's "=" padding, and A or Q,
        // both 0 in the low four bits, keep a segment's last character
        // canonical.
        let i = r.int(t.length);
        while (t[i] === "=") i = (i + 1) % t.length;
        const ch = t[i] === "A" ? "Q" : "A";
        return t.slice(0, i) + ch + t.slice(i + 1);
    }],
    ["drop segment", (t, r) => {
        const p = t.split(".");
        p.splice(r.int(p.length), 1);
        return p.join(".");
    }],
    ["extra segment", (t) => t + ".e30"],
    ["swap segments", (t) => {
        const p = t.split(".");
        return [p[1], p[0], p[2]].join(".");
    }],
    ["truncate", (t, r) => t.slice(0, Math.max(1, r.int(t.length)))],
    ["pad segments", (t) => t.split(".").map((s) => s + "==").join(".")],
    ["to std alphabet", (t) => t.replace(/-/g, "+").replace(/_/g, "/")],
    ["whitespace inside", (t, r) => {
        const i = r.int(t.length);
        return t.slice(0, i) + " " + t.slice(i);
    }],
    ["empty", () => ""],
    ["percent-encode", (t) => encodeURIComponent(t)
        .replace(/\./g, "%2E")],
];

function buildCase(i, r, seed) {
    const mut = r.pick(MINT_MUTATIONS);
    const smut = r.chance(0.8) ? STRING_MUTATIONS[0]
        : r.pick(STRING_MUTATIONS);
    const transport = r.pick(["header", "header", "cookie", "cookie",
        "both", "both-other", "none"]);
    const method = r.pick(["GET", "GET", "GET", "POST", "POST", "PUT",
        "DELETE", "PATCH", "HEAD", "OPTIONS"]);
    const route = r.pick(["/verify", "/verify", "/verify", "/api/user",
        "/verify-optional", "/verify-checkdb", "/verify-nocsrf",
        "/verify-noclaims"]);
    const register = r.chance(0.4);
    const verifiedUser = r.pick([true, false, null]);
    const rid = r.pick([undefined, undefined, "session", "anti-csrf", ""]);
    const ac = r.pick([undefined, undefined, "ac-gen", "wrong"]);
    const origin = r.chance(0.15);
    const extraCookie = r.pick([null, null, null, "sIdRefreshToken=1",
        "dup", "sRefreshToken=x"]);
    const bearerPrefix = r.pick(["Bearer ", "Bearer ", "Bearer ", "bearer ",
        "Bearer  "]);
    const label = `gen#${i} ${mut[0]}/${smut[0]} ${transport} ${method} ` +
        `${route}${register ? " reg" : ""}${rid !== undefined ? " rid" : ""}` +
        `${ac ? " ac=" + ac : ""}${extraCookie ? " +" + extraCookie : ""}`;
    // The random draws for the token happen at setup time, from a PRNG
    // seeded per case, so the run is reproducible from the seed.
    const caseSeed = (seed ^ Math.imul(i + 1, 0x9E3779B1)) >>> 0;
    return {
        name: label,
        method, route,
        setup: async (c) => {
            const rr = prng(caseSeed);
            const o = mut[1](rr, c);
            let t;
            try {
                t = c.T({ sub: "gen-user", ...o });
            } catch (e) {
                t = c.T({ sub: "gen-user" });
            }
            const t2 = c.T({ sub: "gen-other" });
            if (register) {
                try {
                    await c.core.register(t);
                } catch (e) { /* undecodable: no session */ }
            }
            if (verifiedUser !== null) {
                await c.core.user({ userId: "gen-user",
                    email: "gen@example.com", verified: verifiedUser });
            }
            return { t: smut[1](t, rr), t2 };
        },
        headers: (c, d) => {
            const h = [];
            const cookies = [];
            if (transport === "header" || transport === "both" ||
                transport === "both-other") {
                h.push(["Authorization", bearerPrefix + d.t]);
            }
            if (transport === "cookie" || transport === "both") {
                cookies.push("sAccessToken=" + d.t);
            }
            if (transport === "both-other") {
                cookies.push("sAccessToken=" + d.t2);
            }
            if (extraCookie === "dup") cookies.push("sAccessToken=" + d.t2);
            else if (extraCookie) cookies.push(extraCookie);
            if (cookies.length) h.push(["Cookie", cookies.join("; ")]);
            if (rid !== undefined) h.push(["rid", rid]);
            if (ac) h.push(["anti-csrf", ac]);
            if (origin) h.push(["Origin", c.origin]);
            return h;
        },
    };
}

function generate(n, seed) {
    const r = prng(seed);
    const out = [];
    for (let i = 0; i < n; i++) out.push(buildCase(i, r, seed));
    return out;
}

module.exports = { generate, prng, decode };
