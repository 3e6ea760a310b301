"use strict";
// UserRoles claims (st-role, st-perm): the validators of roles / rolesMaxAge
// (configs.js, ST_CLAIMS), their refetch through the core's roles APIs
// (GET /<tenantId>/recipe/user/roles, GET /recipe/role/permissions), the
// tenant path node builds from the token's tId, values of odd types and
// core faults. In the other configurations no validator reads these claims:
// the same tokens pass, with no core call.
//
//   roles:       st-role includes "admin", st-perm includes "write",
//                 st-role excludes "banned" (id not-banned)
//   rolesMaxAge: st-ev isVerified, st-perm includesAll [read, write] (300 s),
//                 st-role includesAny [admin, editor] (60 s, id role-any),
//                 st-perm excludesAll [delete, root] (id perm-safe)
const { via, bearer, cookie, at } = require("./_dsl");

const USER = "role-user";
const cases = [];
// A refetch ends in /recipe/session/regenerate, which needs the session
// row: tokens are registered unless the case says register: false.
const add = (name, o) => {
    const c = { name: "roles: " + name, ...o };
    if (o.tok) {
        const prev = o.setup;
        c.setup = async (ctx) => {
            const extra = prev ? await prev(ctx) : undefined;
            const t = ctx.T({ sub: USER, roles: false, ...o.tok(ctx) });
            if (o.register !== false) await ctx.core.register(t);
            return { ...(extra || {}), t };
        };
        c.headers = (ctx, d) => [o.transport === "cookie"
            ? cookie(at(d.t)) : bearer(d.t), ...(o.more || [])];
    }
    cases.push(c);
};

// Outcome per configuration: [roles, rolesMaxAge], "ok" elsewhere.
const out = (x, m, transport = "header", other = "ok") => (c) =>
    via(c, transport, { roles: x, rolesMaxAge: m }[c.cfg.name] || other);

const claim = (v, ageMs = 0) => ({ v, t: Date.now() - ageMs });
const rp = (role, perm) => ({
    ...(role !== undefined ? { "st-role": role } : {}),
    ...(perm !== undefined ? { "st-perm": perm } : {}) });
const GOOD_ROLE = () => claim(["admin"]);
const GOOD_PERM = () => claim(["read", "write"]);

// The app's roles (app-wide) and the user's roles in a tenant.
async function roles(c, list = ["admin"], tenant) {
    await c.core.role("admin", ["read", "write"]);
    await c.core.role("editor", ["read"]);
    await c.core.role("banned", ["delete"]);
    await c.core.role("viewer", []);
    if (tenant) await c.core.tenant(tenant);
    if (list) await c.core.userRoles(USER, list, tenant);
}

// ---------------------------------------------------------- from the token
add("role [admin], perm [read, write], fresh", {
    tok: () => ({ claims: rp(GOOD_ROLE(), GOOD_PERM()) }),
    exp: out("ok", "ok") });
add("role [viewer], perm [read], fresh", {
    tok: () => ({ claims: rp(claim(["viewer"]), claim(["read"])) }),
    exp: out("claim", "claim") });
add("role [admin, banned], perm [read, write, delete], fresh", {
    tok: () => ({ claims: rp(claim(["admin", "banned"]),
        claim(["read", "write", "delete"])) }),
    exp: out("claim", "claim") });
add("role [editor], perm [read, write], fresh", {
    tok: () => ({ claims: rp(claim(["editor"]), GOOD_PERM()) }),
    exp: out("claim", "ok") });
add("roles the core does not know, fresh", {
    tok: () => ({ claims: rp(claim(["ghost", "admin "]),
        claim(["write "])) }),
    exp: out("claim", "claim") });
add("role [admin], perm [read, write], cookie", {
    transport: "cookie",
    tok: () => ({ claims: rp(GOOD_ROLE(), GOOD_PERM()) }),
    exp: out("ok", "ok", "cookie") });

// ------------------------------------------------------------ refetches
add("role + perm missing, core: admin (one roles call, then regenerate)", {
    setup: (c) => roles(c, ["admin"]),
    tok: () => ({}), exp: out("ok", "ok") });
add("role + perm missing, core: admin, cookie (new cookie)", {
    setup: (c) => roles(c, ["admin"]), transport: "cookie",
    tok: () => ({}), exp: out("ok", "ok", "cookie") });
add("role + perm missing, core: no roles", {
    setup: (c) => roles(c, []),
    tok: () => ({}), exp: out("claim", "claim") });
add("role + perm missing, user unknown to the core", {
    tok: () => ({ sub: "nobody-roles" }), exp: out("claim", "claim") });
add("role + perm missing, core: admin, banned", {
    setup: (c) => roles(c, ["admin", "banned"]),
    tok: () => ({}), exp: out("claim", "claim") });
add("role + perm missing, core: editor, viewer", {
    setup: (c) => roles(c, ["editor", "viewer"]),
    tok: () => ({}), exp: out("claim", "claim") });
add("role + perm missing, core: viewer, admin, editor (Set order)", {
    setup: (c) => roles(c, ["viewer", "admin", "editor"]),
    tok: () => ({}), exp: out("ok", "ok") });
add("role missing, perm fresh, core: admin", {
    setup: (c) => roles(c, ["admin"]),
    tok: () => ({ claims: rp(undefined, GOOD_PERM()) }),
    exp: out("ok", "ok") });
add("perm missing, role fresh, core: editor", {
    setup: (c) => roles(c, ["editor"]),
    tok: () => ({ claims: rp(GOOD_ROLE(), undefined) }),
    exp: out("claim", "claim") });
add("role 120 s old [viewer], core: admin (max age 60 s refetches)", {
    setup: (c) => roles(c, ["admin"]),
    tok: () => ({ claims: rp(claim(["viewer"], 120000), GOOD_PERM()) }),
    exp: out("claim", "ok") });
add("perm 400 s old [read, write], core: editor (max age 300 s)", {
    setup: (c) => roles(c, ["editor"]),
    tok: () => ({ claims: rp(GOOD_ROLE(), claim(["read", "write"], 400000)) }),
    exp: out("ok", "claim") });
add("role and perm 1 h old, core: admin", {
    setup: (c) => roles(c, ["admin"]),
    tok: () => ({ claims: rp(claim(["admin"], 36e5),
        claim(["read", "write"], 36e5)) }),
    exp: out("ok", "ok") });
add("role + perm missing, session unknown to the core (regenerate " +
    "UNAUTHORISED)", {
    setup: (c) => roles(c, ["admin"]), register: false,
    tok: () => ({}), exp: out("clear", "clear") });
add("role + perm missing, expired token (refresh, no fetch)", {
    setup: (c) => roles(c, ["admin"]),
    tok: () => ({ expIn: -10 }), exp: out("refresh", "refresh", "header",
        "refresh") });
add("role + perm missing, /verify-noclaims (no fetch)", {
    route: "/verify-noclaims", setup: (c) => roles(c, ["admin"]),
    tok: () => ({}), exp: out("ok", "ok") });
add("role + perm missing, /verify-optional", {
    route: "/verify-optional", setup: (c) => roles(c, []),
    tok: () => ({}), exp: out("claim", "claim") });
add("role + perm missing, /verify-checkdb", {
    route: "/verify-checkdb", setup: (c) => roles(c, ["admin"]),
    tok: () => ({}), exp: out("ok", "ok") });
add("role + perm missing, POST cookie with rid + anti-csrf", {
    method: "POST", setup: (c) => roles(c, ["admin"]), transport: "cookie",
    more: [["rid", "session"], ["anti-csrf", "ac-r"]],
    tok: () => ({ antiCsrfToken: "ac-r" }) });
add("role + perm missing + prth (core verify, then regenerate)", {
    setup: (c) => roles(c, ["admin"]),
    tok: () => ({ parentRefreshTokenHash1: "p-roles" }),
    exp: out("ok", "ok") });
add("role + perm missing, legacy v2 token (tenant public)", {
    setup: (c) => roles(c, ["admin"]),
    tok: () => ({ legacy: 2 }), exp: out("ok", "ok") });
add("role + perm missing, rsub differs (roles of the primary user)", {
    setup: (c) => roles(c, ["admin"]),
    tok: () => ({ rsub: "recipe-roles-1" }), exp: out("ok", "ok") });
// the Querier's GET queries are URLSearchParams text
add("role + perm missing, a user id with spaces and marks", {
    setup: async (c) => {
        await roles(c, null);
        await c.core.userRoles("r é/?&#x~!'()*+%", ["admin"]);
    },
    tok: () => ({ sub: "r é/?&#x~!'()*+%" }), exp: out("ok", "ok") });
add("role + perm missing, role names with spaces, marks, unicode", {
    setup: async (c) => {
        await roles(c, null);
        await c.core.role("a b&c=d+é%/?#😀", ["write", "x y"]);
        await c.core.role("r\u00a0\u2028", ["read"]);
        await c.core.userRoles(USER, ["a b&c=d+é%/?#😀", "r\u00a0\u2028",
            "admin"]);
    },
    tok: () => ({}), exp: out("ok", "ok") });

// ----------------------------------------- the tenant path (tId of the token)
// node: "/<tenantId>/recipe/user/roles".replace(/<tenantId>/g, String(tId)),
// then new URL(core + path): dot segments resolved, "?" / "#" start a query /
// fragment. The core lower-cases the tenant, collapses "//" and answers
// 404 for a segment that is not [a-z0-9-]+, 400 for an unknown tenant.
// USER is viewer in public and admin in t1.
// A tId that is not a string fetches as String(tId) does, then the core's
// regenerate fails on it (500); a v5 token without tId is one the core
// cannot read (regenerate UNAUTHORISED).
const TENANTS = [
    ["\"t1\"", "t1", "ok"], ["\"T1\"", "T1", "ok"],
    ["[\"t1\"] (then regenerate 500)", ["t1"], "error"],
    ["[[\"t1\"]]", [["t1"]], "error"],
    ["\"public\"", "public", "claim"], ["\"PUBLIC\"", "PUBLIC", "claim"],
    ["missing", undefined, "clear"], ["null", null, "error"],
    ["\"\" (//recipe: public)", "", "claim"], ["[] (public)", [], "error"],
    ["[\"t1\", \"x\"]", ["t1", "x"], "error"], ["5", 5, "error"],
    ["true", true, "error"], ["{}", {}, "error"],
    ["\"t2\" (unknown tenant)", "t2", "error"],
    ["\"a b\"", "a b", "error"], ["\"t_1\"", "t_1", "error"],
    ["\"hello\" (stop word)", "hello", "error"],
    ["\"recipe\"", "recipe", "error"],
    ["\"$&\"", "$&", "error"], ["\"$'\"", "$'", "error"],
    ["\"$`\" (///recipe: public)", "$`", "claim"], ["\"$$\"", "$$", "error"],
    ["\"$1\"", "$1", "error"], ["\"$<x>\"", "$<x>", "error"],
    ["\"t1$&\"", "t1$&", "error"],
    ["\"x/../t1\"", "x/../t1", "ok"], ["\"./t1\"", "./t1", "ok"],
    ["\"%2e%2e/t1\"", "%2e%2e/t1", "ok"], ["\"t%31\"", "t%31", "ok"],
    ["\"t1?x=1\" (GET /t1: Hello)", "t1?x=1", "error"],
    ["\"t1#f\"", "t1#f", "error"], ["\"t2?x\" (GET /t2: 404)", "t2?x", "error"], ["\"t1\\\\x\"", "t1\\x", "error"],
    ["\" t1 \"", " t1 ", "error"], ["\"t1\\t\"", "t1\t", "ok"],
    ["\"t1/\"", "t1/", "ok"], ["\"/t1\"", "/t1", "ok"],
    ["\"é\"", "é", "error"], ["\"appid-x\"", "appid-x", "error"],
];
for (const [name, tid, x] of TENANTS) {
    add(`role + perm missing, tId ${name}`, {
        setup: async (c) => {
            await roles(c, ["viewer"]);
            await roles(c, ["admin"], "t1");
        },
        tok: () => (tid === undefined ? { drop: ["tId"] }
            : { set: { tId: tid } }),
        exp: out(x, x) });
}
// "/t1?x/recipe/user/roles": GET /t1 answers Hello (text/html), which the
// Querier hands back as a string: st-role has no value ("value does not
// exist"), st-perm iterates "Hello".roles (TypeError)
for (const tid of ["t1?x", "public#x", "PUBLIC?"]) {
    add(`role missing, perm fresh, tId "${tid}" (the core answers Hello)`, {
        setup: async (c) => {
            await roles(c, ["viewer"]);
            await roles(c, ["admin"], "t1");
        },
        tok: () => ({ set: { tId: tid }, claims: rp(undefined, GOOD_PERM()) }),
        exp: out("claim", "claim") });
}
// a refetch that brings no value leaves the old one: with a max age it is
// "expired" (ageInSeconds is each side's own clock reading)
add("role 120 s old [admin], perm fresh, tId \"public?x\" (Hello: no " +
    "new value, expired)", {
    setup: (c) => roles(c, ["admin"]),
    tok: () => ({ set: { tId: "public?x" },
        claims: rp(claim(["admin"], 120000), GOOD_PERM()) }),
    exp: out("ok", "claim") });
add("role + perm missing, v3 token without tId (public)", {
    setup: async (c) => {
        await roles(c, ["admin"]);
        await roles(c, ["viewer"], "t1");
    },
    tok: () => ({ version: "3", drop: ["rsub", "tId"] }),
    exp: out("ok", "ok") });
add("role + perm missing, v3 token with tId t1 (still the path)", {
    setup: async (c) => {
        await roles(c, ["viewer"]);
        await roles(c, ["admin"], "t1");
    },
    tok: () => ({ version: "3", drop: ["rsub"], tId: "t1" }),
    exp: out("ok", "ok") });

// ------------------------------------------------------- odd claim values
// Array validators on a value that is neither an array nor a string: node
// throws a TypeError (500), the gateway answers 403 (known difference
// array-claim-not-iterable).
for (const [name, v] of [["5", 5], ["true", true], ["null", null],
    ["{}", {}], ["{\"0\":\"admin\"}", { 0: "admin", length: 1 }]]) {
    add(`role odd type ${name}`, {
        tok: () => ({ claims: rp({ v, t: Date.now() }, GOOD_PERM()) }) });
    add(`perm odd type ${name}`, {
        tok: () => ({ claims: rp(GOOD_ROLE(), { v, t: Date.now() }) }) });
}
// strings: includes is a substring test, includesAll/Any/excludesAll
// iterate code points
for (const [name, role, perm, x, m] of [
    ["role \"admin\", perm \"write\"", "admin", "write", "ok", "claim"],
    ["role \"xadminx\", perm \"rewrite\"", "xadminx", "rewrite", "ok",
        "claim"],
    ["role \"admin banned\"", "admin banned", ["read", "write"], "claim",
        "claim"],
    ["role \"\", perm \"\"", "", "", "claim", "claim"],
    ["perm \"rw😀\" with role [admin]", ["admin"], "rw😀", "claim", "claim"],
]) {
    add(`role/perm strings: ${name}`, {
        tok: () => ({ claims: rp(claim(role), claim(perm)) }),
        exp: out(x, m) });
}
for (const [name, role, perm, x, m] of [
    ["role [[\"admin\"]]", [["admin"]], ["read", "write"], "claim", "claim"],
    ["role [\"admin\", null, 1, {}]", ["admin", null, 1, {}],
        ["read", "write"], "ok", "ok"],
    ["perm [\"write\", \"write\", \"read\"]", ["admin"],
        ["write", "write", "read"], "ok", "ok"],
    ["role [\"ADMIN\"]", ["ADMIN"], ["read", "write"], "claim", "claim"],
    ["perm [\"read\", \"write\", \"root\"]", ["admin"],
        ["read", "write", "root"], "ok", "claim"],
    ["role [], perm []", [], [], "claim", "claim"],
]) {
    add(`role/perm arrays: ${name}`, {
        tok: () => ({ claims: rp(claim(role), claim(perm)) }),
        exp: out(x, m) });
}
// the entry itself: no v means a refetch; t is read with < and - (ToNumber)
for (const [name, entry, x, m] of [
    ["null (refetch)", null, "ok", "ok"],
    ["[] (refetch)", [], "ok", "ok"],
    ["\"admin\" (refetch)", "admin", "ok", "ok"],
    ["{} (refetch)", {}, "ok", "ok"],
    ["{v: undefined, t} (refetch)", { t: 1 }, "ok", "ok"],
    ["[viewer] without t", { v: ["viewer"] }, "claim", "claim"],
    ["[viewer] with t \"x\" (no refetch)", { v: ["viewer"], t: "x" },
        "claim", "claim"],
    ["[viewer] with t null (refetch)", { v: ["viewer"], t: null },
        "claim", "ok"],
    ["[viewer] with t true (refetch)", { v: ["viewer"], t: true },
        "claim", "ok"],
    ["[viewer] with t [] (refetch)", { v: ["viewer"], t: [] }, "claim", "ok"],
    ["[viewer] with t in 1 day", { v: ["viewer"], t: Date.now() + 864e5 },
        "claim", "claim"],
    ["[viewer] with t as a 120 s old string", { v: ["viewer"],
        t: String(Date.now() - 120000) }, "claim", "ok"],
    ["[viewer] with t as [[120 s old]]", { v: ["viewer"],
        t: [[Date.now() - 120000]] }, "claim", "ok"],
    ["[viewer] with t \" 0x…\" (hex, 120 s old)", { v: ["viewer"],
        t: " 0x" + (Date.now() - 120000).toString(16) }, "claim", "ok"],
]) {
    add(`st-role ${name}, core: admin`, {
        setup: (c) => roles(c, ["admin"]),
        tok: () => ({ claims: rp(entry, GOOD_PERM()) }),
        exp: out(x, m) });
}

// ------------------------------------------- a route's own validators
// /verify-admin (roles configurations only): the globals, then st-role
// includes "admin" (id route-admin) and st-perm excludes "delete"; errors
// list the globals' first.
const ONLY_ROLES = ["roles", "rolesMaxAge"];
for (const [name, o, x, m] of [
    ["role [admin], perm [read, write], fresh",
        { tok: () => ({ claims: rp(GOOD_ROLE(), GOOD_PERM()) }) }, "ok", "ok"],
    ["role [editor], perm [read, write], fresh (only the route fails)",
        { tok: () => ({ claims: rp(claim(["editor"]), GOOD_PERM()) }) },
        "claim", "claim"],
    ["role [viewer], perm [read] (global and route fail)",
        { tok: () => ({ claims: rp(claim(["viewer"]), claim(["read"])) }) },
        "claim", "claim"],
    ["role [admin], perm [read, write, delete]",
        { tok: () => ({ claims: rp(GOOD_ROLE(),
            claim(["read", "write", "delete"])) }) }, "claim", "claim"],
    ["role + perm missing, core: admin (fetched once for both lists)",
        { setup: (c) => roles(c, ["admin"]), tok: () => ({}) }, "ok", "ok"],
    ["role + perm missing, core: admin, banned",
        { setup: (c) => roles(c, ["admin", "banned"]), tok: () => ({}) },
        "claim", "claim"],
    ["role + perm missing, core: editor",
        { setup: (c) => roles(c, ["editor"]), tok: () => ({}) },
        "claim", "claim"],
    ["role 120 s old [editor], core: admin",
        { setup: (c) => roles(c, ["admin"]), tok: () => ({ claims: rp(
            claim(["editor"], 120000), GOOD_PERM()) }) }, "claim", "ok"],
    ["role + perm missing, cookie, core: admin (new cookie)",
        { setup: (c) => roles(c, ["admin"]), transport: "cookie",
            tok: () => ({}) }, "ok", "ok"],
    ["role + perm missing, core: admin, userroles 500",
        { setup: async (c) => {
            await roles(c, ["admin"]);
            await c.core.fault("userroles", "500");
        }, tok: () => ({}) }, "error", "error"],
]) {
    add(`/verify-admin: ${name}`, { route: "/verify-admin",
        only: ONLY_ROLES, ...o,
        exp: out(x, m, o.transport === "cookie" ? "cookie" : "header") });
}
add("/verify-admin: no session", { route: "/verify-admin", headers: () => [],
    only: ONLY_ROLES, exp: "unauth" });

// --------------------------------------------------------------- faults
for (const [api, mode, opts, x] of [
    ["userroles", "500", {}, "error"], ["userroles", "garbage", {}, "error"],
    ["userroles", "404", {}, "error"], ["userroles", "down", {}, "error"],
    ["userroles", "429", { count: 1 }, "ok"],
    ["permissions", "500", {}, "error"],
    ["permissions", "garbage", {}, "error"],
    ["permissions", "429", { count: 2 }, "ok"],
    ["regenerate", "500", {}, "error"],
]) {
    const n = opts.count ? `${mode} ×${opts.count}` : mode;
    add(`role + perm missing, core: admin, ${api} ${n}`, {
        setup: async (c) => {
            await roles(c, ["admin"]);
            await c.core.fault(api, mode, opts);
        },
        tok: () => ({}), exp: out(x, x) });
}
add("perm missing, role fresh, core: admin, userroles 500", {
    setup: async (c) => {
        await roles(c, ["admin"]);
        await c.core.fault("userroles", "500");
    },
    tok: () => ({ claims: rp(GOOD_ROLE(), undefined) }),
    exp: out("error", "error") });
add("role missing, perm fresh, core: admin, permissions 500 (not asked)", {
    setup: async (c) => {
        await roles(c, ["admin"]);
        await c.core.fault("permissions", "500");
    },
    tok: () => ({ claims: rp(undefined, GOOD_PERM()) }),
    exp: out("ok", "ok") });

module.exports = cases;
