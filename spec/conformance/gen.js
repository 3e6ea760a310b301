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
    // Payload text a core would not print but node reads: members appended
    // as raw JSON text (number forms, escapes, index-like names, nesting),
    // so the answer body must be JSON.stringify(JSON.parse(text)).
    ["raw members", (r) => ({ rawTail: rawMembers(r) })],
    // st-ev with a value as raw text: with EmailVerification the 403's
    // claimValidationErrors print it back (actualValue)
    ["st-ev raw", (r) => ({ ev: false, rawTail: ',"st-ev":{"v":' +
        rawValue(r, 1) + ',"t":' + (Date.now() - r.pick([0, 20000])) +
        "}" })],
    ["raw time claim", (r) => ({ rawTime: [r.pick(["exp", "iat", "nbf"]),
        r.pick(RAW_TIME)] })],
    ["sub exotic", (r) => ({ sub: r.pick(EXOTIC_STRINGS) })],
    ["handle exotic", (r) => ({ sessionHandle: r.pick(EXOTIC_STRINGS
        .filter(Boolean)) })],
    ["rsub exotic", (r) => ({ rsub: r.pick(EXOTIC_STRINGS) })],
    ["tId exotic", (r) => ({ set: { tId: r.pick(["", "T1", "a b", "ü",
        0, 5, false, [], {}, "public "]) } })],
    ["time exotic", (r) => ({ set: { [r.pick(["exp", "iat", "nbf"])]:
        r.pick([0, -0, -1, 0.5, 1e15, 2 ** 53, 2 ** 31, -1e10,
            nowS() + 3600.999, nowS() - 0.001, 1e21, 5e-324]) } })],
    ["anti-csrf claim exotic", (r) => ({ antiCsrfToken: r.pick(["",
        " ac-gen", "ac-gen ", "AC-GEN", "ac-gen\u00e9", 0, 1, true, [],
        {}]) })],
    ["shape mix", (r) => r.pick([
        { version: "3", tId: "t1" }, { version: "4", rsub: "other" },
        { version: "3", drop: ["rsub"], tId: null },
        { version: "4", drop: ["rsub", "tId"] },
        { version: "5", claims: { userId: "legacy-u", userData: { a: 1 } } },
        { version: "5", drop: ["iss"] },
        { version: "2", drop: ["rsub", "tId"] },
        { version: " 4", drop: ["rsub"] },
        { version: "4.9", drop: ["rsub"] },
        { version: "3abc", drop: ["rsub"] },
    ])],
    ["header exotic", (r) => ({ header: { [r.pick(["kid", "typ", "alg",
        "version"])]: r.pick(["", " ", "ü", 0, null, [], {}, "JWT ",
        "RS256 "]) } })],
    ["st-ev exotic", (r) => ({ ev: false, claims: { "st-ev": r.pick([
        { v: true }, { v: false }, { v: "true", t: Date.now() },
        { v: 1, t: Date.now() }, { v: true, t: "x" },
        { v: true, t: Date.now() + 1e9 }, { v: false, t: 0 },
        { v: true, t: Date.now() / 1000 }, [], "x", 0, false,
        { v: false, t: Date.now() - 1e6 },
        // t as ToNumber reads it: trimmed by String.prototype.trim(),
        // arrays as their joined string
        { v: false, t: "\u00a0" + (Date.now() - 60000) + "\u2028" },
        { v: false, t: "\u3000" + (Date.now() - 60000) + "\ufeff" },
        { v: false, t: " " + (Date.now() - 60000) },
        { v: false, t: [[Date.now() - 60000]] },
        { v: false, t: [Date.now() - 60000.5] },
        { v: false, t: ["", ""] }, { v: false, t: [null] },
        { v: false, t: "0x" + (Date.now() - 60000).toString(16) }]) } })],
    // UserRoles claims (validated in roles / rolesMaxAge, st-role and
    // st-perm refetched through the core when missing or too old)
    ["roles", (r) => ({ roles: false, claims: {
        ...(r.chance(0.7) ? { "st-role": { v: r.pick(ROLE_LISTS),
            t: Date.now() - r.pick(AGES) } } : {}),
        ...(r.chance(0.7) ? { "st-perm": { v: r.pick(PERM_LISTS),
            t: Date.now() - r.pick(AGES) } } : {}) } })],
    // neither an array nor a string: known difference
    // array-claim-not-iterable (node: TypeError, 500)
    ["roles odd type", (r) => ({ roles: false, claims: {
        [r.pick(["st-role", "st-perm"])]: { v: r.pick([0, 1, true, false,
            {}, { 0: "admin" }, null]), t: Date.now() } } })],
    ["roles exotic", (r) => ({ roles: false, claims: {
        "st-role": r.pick([null, [], "admin", {}, 0, { t: 1 },
            { v: r.pick(["admin", "xadminx", "", "admin banned",
                [["admin"]], ["admin", null, 1], ["ADMIN"]]),
            t: r.pick([Date.now(), "x", null, true, [], Date.now() + 864e5,
                String(Date.now() - 120000), [[Date.now() - 120000]]]) }]),
        ...(r.chance(0.5) ? { "st-perm": { v: r.pick(PERM_LISTS
            .concat(["write", "rw", ""])), t: Date.now() } } : {}) } })],
    // no role/perm claims: fetched for tenant String(tId), through
    // String.prototype.replace and new URL()
    ["roles tId", (r) => ({ roles: false, version: r.pick(["5", "5", "4",
        "3"]), set: { tId: r.pick(ROLE_TIDS) },
        claims: r.chance(0.3) ? { "st-perm": { v: ["read", "write"],
            t: Date.now() } } : {} })],
    // MultiFactorAuth (validated in mfa): node passes a truthy v, gives a
    // reason only for false; st-mfa not an object reads (...).v
    ["st-mfa", (r) => ({ mfa: false,
        claims: { "st-mfa": r.pick(MFA_VALUES) } })],
    ["st-mfa raw", (r) => ({ mfa: false, rawTail: ',"st-mfa":{"c":{},"v":' +
        rawValue(r, 1) + "}" })],
    // known differences mfa-claim-null (node: TypeError, 500) and
    // mfa-missing-claim-fetch (node fetches it through the MFA recipe)
    ["st-mfa null", () => ({ mfa: false, claims: { "st-mfa": null } })],
    ["st-mfa missing", () => ({ mfa: false })],
];

// st-mfa values: v of every JSON type, c of odd shapes, not an object
const MFA_VALUES = [{ c: {}, v: true }, { c: {}, v: false }, { c: {} },
    {}, { v: true }, { v: false }, { c: null, v: true }, { c: [], v: false },
    { c: "x", v: true }, { c: { totp: 1 }, v: 0 }, { v: "" }, { v: null },
    { v: "false" }, { v: "0" }, { v: 1 }, { v: -1 }, { v: [] }, { v: {} },
    { v: [false] }, { v: { v: false } }, true, false, 0, 1, "", "v", "abc",
    [], [true], [{ v: true }], { c: {}, v: true, t: "x" }];

// Values for the roles mutations: what a core fetches (lists of role
// names), ages around the configurations' max ages (60 s, 300 s) but not
// at them, tenant ids node's path building and the core's routing treat
// differently.
const ROLE_LISTS = [[], ["admin"], ["viewer"], ["editor"],
    ["admin", "banned"], ["editor", "admin"], ["ghost"], ["a b&c=d+é"]];
const PERM_LISTS = [[], ["read"], ["read", "write"], ["write"],
    ["read", "write", "delete"], ["root"]];
const AGES = [0, 0, 30000, 120000, 400000, 36e5];
const ROLE_TIDS = ["t1", "T1", "public", "PUBLIC", "", "t2", null, 5, [],
    ["t1"], {}, "$&", "$'", "$`", "$$", "x/../t1", "%2e%2e/t1", "t%31",
    "t1?x", "public#x", "a b", "t_1", "hello", "appid-x", " t1", "t1/",
    "/t1", "é", "t1\t"];
// The user's roles in the core (public, and t1 when drawn), and faults on
// the roles APIs.
const CORE_ROLES = [null, [], ["admin"], ["viewer"], ["editor"],
    ["admin", "banned"], ["viewer", "admin", "editor"], ["a b&c=d+é"]];
const ROLE_FAULTS = [null, null, null, null, null, null,
    ["userroles", "500"], ["userroles", "garbage"], ["permissions", "500"],
    ["userroles", "429", { count: 1 }], ["permissions", "garbage"]];

// Raw JSON text pieces for "raw members" (names and values as text).
const RAW_NUMBERS = ["0", "-0", "1", "1.0", "1.50", "1e2", "1E2", "1e+2",
    "1e-2", "1E-7", "1e-7", "1e21", "1e20", "123456789012345678", "0.1",
    "0.000001", "0.0000001", "-0.0", "5e-324", "1.7976931348623157e308",
    "9007199254740993", "2.5e-3", "0e5", "-0e-5", "12.340e1",
    "5.684341886080802e-14", "8.98846567431158e+307", "1979761527839043.25",
    "4503599627370497.5", "0.30000000000000004", "1e-300", "123e-20",
    "100000000000000000000000", "-1.5e-9"];
const RAW_STRINGS = ['"a\\u0041"', '"\\/p"', '"\\t\\n"', '"\\u2028\\u2029"',
    '"\u2028"', '"\\u00e9"', '"é"', '"\\ud83d\\ude00"', '"😀"',
    '"\\u0000"', '"\\u001F"', '"\\u007f"', '"\u007f"', '"\\b\\f"',
    '"<&>"', '""', '"\\""', '"\\\\"', '"\ufeff"', '"\\ufeff"'];
const RAW_NAMES = ["a", "0", "1", "10", "9", "01", "-1", "1.5",
    "4294967294", "4294967295", "4294967296", "__proto__", "constructor",
    "", "é", "a b", "00", " 1", "\\u0030", "sub2", "\\u00e9x"];
// NOW[+-S]: the current second (plus S) as an integer, then the rest as
// text ("NOW+3600.0" is now + 3600 written with a fraction).
const RAW_TIME = ["NOW+3600.0", "NOW+3600.5", "NOWe0", "1.8e9", "18e8",
    "NOW+3600E0", "-0", "4102444800.000", "NOW-5.0", "NOW+10.25",
    "NOW+3600e-0", "NOW+36000e-1", "0.0", "NOW-100000.5"];

function rawTimeText(v) {
    const m = /^NOW([+-]\d+)?(.*)$/.exec(v);
    if (!m) return v;
    return String(nowS() + Number(m[1] || 0)) + m[2];
}

// A minted token's payload text with raw members appended or one time
// claim replaced by raw text.
function rawPayload(c, o) {
    const { rawTail, rawTime, ...rest } = o;
    let txt = JSON.stringify(c.mint({ sub: "gen-user", ...rest }).payload);
    if (rawTime) {
        const [k, v] = rawTime;
        const re = new RegExp(`"${k}":[^,}]*`);
        const member = `"${k}":${rawTimeText(v)}`;
        txt = re.test(txt) ? txt.replace(re, member)
            : txt.slice(0, -1) + "," + member + "}";
    }
    if (rawTail) txt = txt.slice(0, -1) + rawTail + "}";
    return { ...rest, payloadRaw: txt };
}

function rawValue(r, d) {
    const t = r.int(d > 2 ? 3 : 6);
    if (t === 0) return r.pick(RAW_NUMBERS);
    if (t === 1) return r.pick(RAW_STRINGS);
    if (t === 2) return r.pick(["true", "false", "null"]);
    if (t === 3) {
        const n = r.int(4);
        const a = [];
        for (let i = 0; i < n; i++) a.push(rawValue(r, d + 1));
        return "[" + a.join(r.pick([",", " , "])) + "]";
    }
    return "{" + rawMembers(r, d + 1).slice(1) + "}";
}

function rawMembers(r, d = 0) {
    const n = 1 + r.int(4);
    const used = new Set();
    let out = "";
    for (let i = 0; i < n; i++) {
        const k = r.pick(RAW_NAMES);
        // "\u0030" is "0": the same name twice would be a duplicate
        const plain = k.replace(/\\u0030/, "0").replace(/\\u00e9/, "é");
        if (used.has(plain)) continue;
        used.add(plain);
        out += "," + (r.chance(0.2) ? " " : "") + JSON.stringify(k)
            .replace(/\\\\/g, "\\") + ":" + rawValue(r, d);
    }
    return out;
}

const EXOTIC_STRINGS = ["", " ", "ü", "😀", "a\u2028b", "\u007f", "a\tb",
    'q"uote', "back\\slash", "x".repeat(2000), "\u00a0nbsp\u00a0",
    "\ufeffbom", "mixed Ünïcødé ✓", "<script>", "null", "0"];

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
    // /verify-admin: the roles configurations' guarded route (run.js
    // sends it to /verify where there is none)
    const route = r.pick(["/verify", "/verify", "/verify", "/api/user",
        "/verify-optional", "/verify-checkdb", "/verify-nocsrf",
        "/verify-noclaims", "/verify-admin"]);
    const register = r.chance(0.4);
    const verifiedUser = r.pick([true, false, null]);
    const rid = r.pick([undefined, undefined, "session", "anti-csrf", ""]);
    const ac = r.pick([undefined, undefined, "ac-gen", "wrong"]);
    const origin = r.chance(0.15);
    const extraCookie = r.pick([null, null, null, "sIdRefreshToken=1",
        "dup", "sRefreshToken=x"]);
    const bearerPrefix = r.pick(["Bearer ", "Bearer ", "Bearer ", "bearer ",
        "Bearer  "]);
    // Request oddities (half of the cases): WebDAV and other methods node
    // parses, repeated anti-csrf / rid lines, st-auth-mode, how the Cookie
    // header is written, Origin values, a query string, Authorization
    // trailing whitespace.
    const odd = r.chance(0.5);
    const x = !odd ? {} : {
        method: r.pick([null, null, "PROPFIND", "REPORT", "SEARCH",
            "PURGE", "LINK", "MKCOL", "COPY", "LOCK", "MERGE", "QUERY"]),
        dupAc: r.chance(0.2),
        // sent when the case has no anti-csrf of its own: node echoes it
        // with a new token (empty, or latin1 bytes written as UTF-8)
        acOdd: r.pick([undefined, undefined, "", " ", "ac-\u00e9",
            "ac-\u00ff\u0080"]),
        dupRid: r.chance(0.15),
        acPad: r.pick([null, null, null, " ", "\t", " \t"]),
        bearerLead: r.pick(["", "", "", "\t", " ", "\t "]),
        authMode: r.pick([undefined, undefined, "cookie", "header", "Header",
            ""]),
        cookieStyle: r.pick(["plain", "nospace", "quoted", "json",
            "json-pct", "split", "spaces", "empty-first", "tabs", "trailing",
            "pct"]),
        origin: r.pick([undefined, "null", "http://evil.example",
            "http://localhost:3000/"]),
        query: r.chance(0.1),
        bearerTail: r.pick(["", "", "\t", " ", "\t "]),
    };
    const method2 = x.method || method;
    const route2 = x.query ? route + "?a=1&sAccessToken=x" : route;
    const label = `gen#${i} ${mut[0]}/${smut[0]} ${transport} ${method2} ` +
        `${route2}${register ? " reg" : ""}${rid !== undefined ? " rid" : ""}` +
        `${ac ? " ac=" + ac : ""}${extraCookie ? " +" + extraCookie : ""}` +
        (odd ? " odd:" + Object.entries(x).filter(([k, v]) => v &&
            k !== "method" && k !== "query").map(([k, v]) =>
            (v === true ? k : k + "=" + JSON.stringify(v))).join(",") : "");
    // The random draws for the token happen at setup time, from a PRNG
    // seeded per case, so the run is reproducible from the seed.
    const caseSeed = (seed ^ Math.imul(i + 1, 0x9E3779B1)) >>> 0;
    return {
        name: label,
        method: method2, route: route2,
        setup: async (c) => {
            const rr = prng(caseSeed);
            let o = mut[1](rr, c);
            let t;
            try {
                if (o.rawTail || o.rawTime) o = rawPayload(c, o);
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
            await coreRoles(c, rr);
            return { t: smut[1](t, rr), t2 };
        },
        headers: (c, d) => {
            const h = [];
            const cookies = [];
            if (transport === "header" || transport === "both" ||
                transport === "both-other") {
                h.push(["Authorization", (x.bearerLead || "") +
                    bearerPrefix + d.t +
                    (x.bearerTail || "")]);
            }
            const st = x.cookieStyle || "plain";
            const atc = (t) => {
                if (st === "quoted") return `sAccessToken="${t}"`;
                if (st === "json") return `sAccessToken=j:"${t}"`;
                if (st === "json-pct") return `sAccessToken=j:%22${t}%22`;
                if (st === "spaces") return `sAccessToken = ${t} `;
                if (st === "tabs") return `\tsAccessToken=\t${t}\t`;
                if (st === "pct") return "sAccessToken=" +
                    t.replace(/[.\-_]/g, (ch) => "%" +
                        ch.charCodeAt(0).toString(16).toUpperCase());
                return "sAccessToken=" + t;
            };
            if (st === "empty-first") cookies.push("sAccessToken=");
            if (transport === "cookie" || transport === "both") {
                cookies.push(atc(d.t));
            }
            if (transport === "both-other") {
                cookies.push(atc(d.t2));
            }
            if (extraCookie === "dup") cookies.push(atc(d.t2));
            else if (extraCookie) cookies.push(extraCookie);
            if (cookies.length) {
                if (st === "split") {
                    for (const ck of cookies) h.push(["Cookie", ck]);
                } else {
                    h.push(["Cookie", cookies.join(st === "nospace" ? ";"
                        : st === "spaces" ? " ;  " : "; ") +
                        (st === "trailing" ? ";" : "")]);
                }
            }
            if (rid !== undefined) h.push(["rid", rid]);
            if (x.dupRid) h.push(["rid", "session"]);
            if (ac) {
                h.push(["anti-csrf", x.acPad ? x.acPad + ac + x.acPad : ac]);
            }
            if (x.dupAc) h.push(["anti-csrf", ac || "ac-gen"]);
            else if (!ac && x.acOdd !== undefined) {
                h.push(["anti-csrf", x.acOdd]);
            }
            if (x.authMode !== undefined) h.push(["st-auth-mode", x.authMode]);
            if (origin) h.push(["Origin", c.origin]);
            else if (x.origin) h.push(["Origin", x.origin]);
            return h;
        },
    };
}

// The roles the core holds for gen-user (drawn after the token's draws,
// so that a seed replays).
async function coreRoles(c, rr) {
    const pub = rr.pick(CORE_ROLES);
    const t1 = rr.chance(0.5) ? rr.pick(CORE_ROLES) : null;
    const fault = rr.pick(ROLE_FAULTS);
    if (pub === null && t1 === null) return;
    await c.core.role("admin", ["read", "write"]);
    await c.core.role("editor", ["read"]);
    await c.core.role("banned", ["delete"]);
    await c.core.role("a b&c=d+é", ["write", "x y"]);
    if (pub !== null) await c.core.userRoles("gen-user", pub);
    if (t1 !== null) {
        await c.core.tenant("t1");
        await c.core.userRoles("gen-user", t1, "t1");
    }
    if (fault) await c.core.fault(...fault);
}

function generate(n, seed) {
    const r = prng(seed);
    const out = [];
    for (let i = 0; i < n; i++) out.push(buildCase(i, r, seed));
    return out;
}

module.exports = { generate, prng, decode };
