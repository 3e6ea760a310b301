"use strict";
// MultiFactorAuth: the mfa configuration (configs.js) inits
// MultiFactorAuth on node, whose post-init callback adds
// MultiFactorAuthClaim.validators.hasCompletedMFARequirementsForAuth() to
// the global validators (after EmailVerification's); the gateway has
// {"claim":"st-mfa","check":"mfa_completed"} in ST_CLAIMS. In the other
// configurations no validator reads st-mfa: the same tokens pass.
//
// node (multiFactorAuthClaim.js): shouldRefetch = payload["st-mfa"] ===
// undefined; validate = `const { v } = payload["st-mfa"]` (null: TypeError),
// isValid = v (truthy), reason only when v === false ({"message":"MFA
// requirement for auth is not satisfied"}), else the error entry has no
// reason. `c` is only read by the fetch.
const { via, bearer, cookie, at } = require("./_dsl");

const USER = "mfa-user";
const cases = [];
// Tokens are registered (a checkDatabase route, the fetch's
// getSessionInformation) unless the case says register: false.
const add = (name, o) => {
    const c = { name: "mfa: " + name, ...o };
    if (o.tok) {
        const prev = o.setup;
        c.setup = async (ctx) => {
            const extra = prev ? await prev(ctx) : undefined;
            let t;
            const opts = { sub: USER, mfa: false, ...o.tok(ctx) };
            if (o.raw) {
                // the claim's value as raw JSON text (-0, 1e-400, ...)
                const m = ctx.mint({ ...opts, claims: { ...opts.claims,
                    "st-mfa": "@RAW@" } });
                t = ctx.mint({ ...opts, sessionHandle:
                    m.payload.sessionHandle, payloadRaw: JSON.stringify(
                    m.payload).replace('"@RAW@"', o.raw) }).token;
            } else {
                t = ctx.T(opts);
            }
            if (o.register !== false) await ctx.core.register(t);
            return { ...(extra || {}), t };
        };
        c.headers = (ctx, d) => [o.transport === "cookie"
            ? cookie(at(d.t)) : bearer(d.t), ...(o.more || [])];
    }
    cases.push(c);
};

// Outcome in the mfa configuration, "ok" elsewhere.
const out = (x, transport = "header", other = "ok") => (c) =>
    via(c, transport, c.mfa ? x : other);
const mfa = (value) => ({ claims: { "st-mfa": value } });

// ------------------------------------------------------ v (truthy passes)
for (const [name, v, x] of [
    ["true", true, "ok"], ["false", false, "claim"],
    // falsy but not false: invalid without a reason
    ["null", null, "claim"], ["0", 0, "claim"], ["\"\"", "", "claim"],
    // truthy
    ["\"false\"", "false", "ok"], ["\"0\"", "0", "ok"], ["1", 1, "ok"],
    ["-1", -1, "ok"], ["0.5", 0.5, "ok"], ["[]", [], "ok"],
    ["[false]", [false], "ok"], ["{}", {}, "ok"],
    ["{\"v\":false}", { v: false }, "ok"], ["\"true\"", "true", "ok"],
    ["\" \"", " ", "ok"]]) {
    add(`v ${name}`, { tok: () => mfa({ c: { emailpassword: 1 }, v }),
        exp: out(x) });
}
add("v missing ({c} only: invalid, no reason)", {
    tok: () => mfa({ c: { emailpassword: 1 } }), exp: out("claim") });
add("{} (no c, no v)", { tok: () => mfa({}), exp: out("claim") });
// JSON number forms node reads as 0 (falsy) or not
for (const [name, raw, x] of [["-0", "-0", "claim"],
    ["0.0", "0.0", "claim"], ["1e-400 (0)", "1e-400", "claim"],
    ["0e5", "0e5", "claim"], ["1e400 (Infinity)", "1e400", "ok"],
    ["5e-324", "5e-324", "ok"]]) {
    add(`v ${name} (raw)`, { tok: () => ({}),
        raw: `{"c":{},"v":${raw}}`, exp: out(x) });
}

// ------------------------------------------------------------ c shapes
for (const [name, c] of [["missing", undefined], ["null", null],
    ["[]", []], ["\"x\"", "x"], ["5", 5], ["two factors", { emailpassword:
        1, totp: 2 }], ["nested", { totp: { t: 1 } }]]) {
    add(`c ${name}, v true`, {
        tok: () => mfa({ ...(c !== undefined ? { c } : {}), v: true }),
        exp: out("ok") });
    add(`c ${name}, v false`, {
        tok: () => mfa({ ...(c !== undefined ? { c } : {}), v: false }),
        exp: out("claim") });
}
add("extra members, v true", {
    tok: () => mfa({ c: {}, v: true, t: "x", x: [1] }), exp: out("ok") });

// --------------------------- st-mfa not an object: `{ v } = value` reads
// the value's own or prototype member v (undefined for all of these)
for (const [name, value] of [["true", true], ["false", false], ["1", 1],
    ["0", 0], ["\"abc\"", "abc"], ["\"v\"", "v"], ["\"\"", ""], ["[]", []],
    ["[true]", [true]], ["[{\"v\":true}]", [{ v: true }]]]) {
    add(`st-mfa ${name}`, { tok: () => mfa(value), exp: out("claim") });
}

// ----------------------- null: node destructures it (TypeError, 500); the
// gateway answers 403 (known difference mfa-claim-null)
add("st-mfa null", { tok: () => mfa(null), exp: out("error") });
add("st-mfa null, /verify-noclaims", { route: "/verify-noclaims",
    tok: () => mfa(null), exp: out("ok", "header", "ok") });

// ------------- missing: node fetches it through the MFA recipe (known
// difference mfa-missing-claim-fetch)
add("st-mfa missing, user unknown to the core", {
    tok: () => ({ sub: "nobody-mfa" }) });
add("st-mfa missing, emailpassword user", {
    setup: (c) => c.core.user({ userId: USER, email: "m@example.com",
        verified: true }),
    tok: () => ({}) });
add("st-mfa missing, /verify-noclaims (no fetch)", {
    route: "/verify-noclaims", tok: () => ({}), exp: out("ok") });

// ------------------------------------------------- transport and routes
add("v false, cookie", { transport: "cookie",
    tok: () => mfa({ c: {}, v: false }), exp: out("claim", "cookie") });
add("v true, cookie", { transport: "cookie",
    tok: () => mfa({ c: {}, v: true }), exp: out("ok", "cookie") });
add("v false, /verify-noclaims", { route: "/verify-noclaims",
    tok: () => mfa({ c: {}, v: false }), exp: out("ok") });
add("v 0, /verify-noclaims", { route: "/verify-noclaims",
    tok: () => mfa({ c: {}, v: 0 }), exp: out("ok") });
add("v false, /verify-optional", { route: "/verify-optional",
    tok: () => mfa({ c: {}, v: false }), exp: out("claim") });
add("v true, /verify-optional", { route: "/verify-optional",
    tok: () => mfa({ c: {}, v: true }), exp: out("ok") });
add("no token, /verify-optional", { route: "/verify-optional",
    headers: () => [], exp: "none" });
add("v false, /verify-checkdb", { route: "/verify-checkdb",
    tok: () => mfa({ c: {}, v: false }), exp: out("claim") });
add("v false, /verify-checkdb, session unknown to the core", {
    route: "/verify-checkdb", register: false,
    tok: () => mfa({ c: {}, v: false }), exp: out("clear", "header",
        "clear") });
add("v false, /verify-nocsrf", { route: "/verify-nocsrf",
    tok: () => mfa({ c: {}, v: false }), exp: out("claim") });
add("v false, /verify-admin (the globals there too)", {
    route: "/verify-admin", tok: () => mfa({ c: {}, v: false }) });
add("v false, expired token (try refresh first)", {
    tok: () => ({ expIn: -10, ...mfa({ c: {}, v: false }) }),
    exp: out("refresh", "header", "refresh") });
add("v false, POST cookie without rid", { method: "POST",
    transport: "cookie", tok: () => mfa({ c: {}, v: false }) });
add("v false + prth (core verify first)", {
    tok: () => ({ parentRefreshTokenHash1: "p-mfa",
        ...mfa({ c: {}, v: false }) }), exp: out("claim") });
add("v false, legacy v2 token (userData)", {
    tok: () => ({ legacy: 2, ...mfa({ c: {}, v: false }) }),
    exp: out("claim") });
add("v true, legacy v2 token (userData)", {
    tok: () => ({ legacy: 2, ...mfa({ c: {}, v: true }) }),
    exp: out("ok") });

// ------------------- with EmailVerification and role claims: the order of
// the errors is EV's validator, then MFA's
const evc = (v) => ({ "st-ev": { v, t: Date.now() } });
add("st-ev false (fresh) + v false: both, st-ev first", {
    tok: () => ({ ev: false, claims: { ...evc(false),
        "st-mfa": { c: {}, v: false } } }) });
add("st-ev false (fresh) + v 0: st-ev, then st-mfa without reason", {
    tok: () => ({ ev: false, claims: { ...evc(false),
        "st-mfa": { c: {}, v: 0 } } }) });
add("st-ev false (fresh) + v true: st-ev only", {
    tok: () => ({ ev: false, claims: { ...evc(false),
        "st-mfa": { c: {}, v: true } } }) });
add("st-ev true + v false: st-mfa only", {
    tok: () => ({ ev: false, claims: { ...evc(true),
        "st-mfa": { c: {}, v: false } } }), exp: out("claim") });
add("st-ev false 60 s old (EV refetch, verified) + v false", {
    setup: (c) => c.core.user({ userId: USER, email: "m@example.com",
        verified: true }),
    tok: () => ({ ev: false, claims: { "st-ev": { v: false,
        t: Date.now() - 60000 }, "st-mfa": { c: {}, v: false } } }) });
add("st-ev false 60 s old (EV refetch, verified) + v true", {
    setup: (c) => c.core.user({ userId: USER, email: "m@example.com",
        verified: true }),
    tok: () => ({ ev: false, claims: { "st-ev": { v: false,
        t: Date.now() - 60000 }, "st-mfa": { c: {}, v: true } } }) });
add("role/perm claims of odd types + v false", {
    tok: () => ({ roles: false, claims: { "st-role": { v: "x", t: 1 },
        "st-perm": null, "st-mfa": { c: {}, v: false } } }) });
add("role/perm claims + v true", {
    tok: () => ({ roles: false, claims: { "st-role": { v: ["admin"],
        t: Date.now() }, "st-perm": { v: ["read", "write"], t: Date.now() },
        "st-mfa": { c: {}, v: true } } }) });

module.exports = cases;
