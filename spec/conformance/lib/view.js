"use strict";
// Turns an HTTP answer into the parts that matter to a SuperTokens
// frontend, in a form where two correct answers compare equal even though
// the core minted different tokens for them, and lists the differences.
const { decode } = require("../../support/core/mint");

// Claims that carry a clock reading: seconds and milliseconds.
const TIME_S = new Set(["exp", "iat", "nbf"]);
const TIME_MS = new Set(["ate", "t", "expiryTime", "timeCreated"]);
// A claim validator's "expired" reason: (Date.now() - t) / 1000, seconds
// with a fraction, read at each side's own clock.
const AGE_S = new Set(["ageInSeconds"]);
const TOL_S = 5;
const TOL_MS = 10000;

const IGNORED = new Set(["etag", "x-powered-by", "date", "connection",
    "keep-alive", "content-length", "transfer-encoding", "server"]);

function tokenClass(raw) {
    if (raw === undefined) return undefined;
    if (raw === "") return "";
    let v = raw;
    if (/%[0-9A-Fa-f]{2}/.test(v)) {
        try { v = decodeURIComponent(v); } catch (e) { /* keep */ }
    }
    if (/^[A-Za-z0-9+/=]+\.[0-9a-f-]{36}\.V2$/.test(v)) return "refresh-token";
    const parts = v.split(".");
    if (parts.length === 3) {
        const d = decode(v);
        if (d.header && d.payload) {
            const kid = d.header.kid;
            return {
                jwt: d.legacy ? "v" + d.legacy : "v" + d.header.version,
                kid: typeof kid === "string" ? kid.slice(0, 2) + "…" : kid,
                payload: d.payload,
            };
        }
    }
    return "other";
}

function parseSetCookie(line, now) {
    const parts = line.split(";").map((s) => s.trim());
    const [nv, ...attrs] = parts;
    const eq = nv.indexOf("=");
    const name = eq < 0 ? nv : nv.slice(0, eq);
    const value = eq < 0 ? "" : nv.slice(eq + 1);
    const c = { value: tokenClass(value) };
    for (const a of attrs) {
        const i = a.indexOf("=");
        const k = (i < 0 ? a : a.slice(0, i)).toLowerCase();
        const v = i < 0 ? true : a.slice(i + 1);
        if (k === "expires") {
            const t = Date.parse(v);
            c.expires = Number.isNaN(t) ? "invalid"
                : t <= now + 1000 ? "expired"
                    : "~" + Math.round((t - now) / 86400000) + "d";
        } else if (k === "samesite") c.samesite = String(v).toLowerCase();
        else if (k === "domain") c.domain = String(v).toLowerCase();
        else if (k === "max-age") c.maxAge = Number(v) <= 0 ? "expired" : v;
        else c[k] = v;
    }
    return { name, c };
}

function frontToken(v) {
    if (v === undefined) return undefined;
    if (v === "remove") return "remove";
    try {
        const std = /^[A-Za-z0-9+/]*={0,2}$/.test(v);
        const txt = Buffer.from(v, "base64").toString("utf8");
        const j = JSON.parse(txt);
        // and as text (number forms, escapes, member order), clock values
        // masked
        const out = { uid: j.uid, ate: j.ate, up: j.up,
            keys: Object.keys(j).join(","), standardBase64: std,
            text: maskTimes(txt) };
        if (j.up && typeof j.up.exp === "number") {
            out.ateIsExpMs = j.ate === j.up.exp * 1000;
        }
        return out;
    } catch (e) {
        return "undecodable";
    }
}

const tokenSet = (v) => (v === undefined ? undefined
    : [...new Set(v.join(",").split(",").map((s) => s.trim().toLowerCase())
        .filter(Boolean))].sort().join(", "));

const TIME_RE = new RegExp(`"(${[...TIME_S, ...TIME_MS].join("|")})":-?\\d+`,
    "g");
const AGE_RE = /"(ageInSeconds)":-?\d+(\.\d+)?(e[-+]?\d+)?/g;
const maskTimes = (text) => text.replace(TIME_RE, '"$1":#')
    .replace(AGE_RE, '"$1":#');

function one(h, k) {
    const v = h[k];
    if (v === undefined) return undefined;
    return v.length === 1 ? v[0] : v;
}

function view(res, coreCalls, now = Date.now()) {
    const h = res.headers;
    const out = { status: res.status };
    out.body = res.json !== undefined ? res.json
        : res.text === "" ? "" : { text: res.text.slice(0, 300) };
    // and byte for byte (member order, number and string forms), the
    // clock-dependent numbers masked: their values are compared above
    if (res.json !== undefined) out.bodyText = maskTimes(res.text);
    const ct = one(h, "content-type");
    out.contentType = ct === undefined ? undefined
        : String(ct).toLowerCase().replace(/\s+/g, "");
    const cookies = {};
    for (const line of h["set-cookie"] || []) {
        const { name, c } = parseSetCookie(line, now);
        (cookies[name] = cookies[name] || []).push(c);
    }
    out.setCookie = Object.keys(cookies).length ? cookies : undefined;
    // and as text (attribute order and spelling), values and the digits
    // and weekday of a non-epoch Expires masked
    if (h["set-cookie"]) {
        out.setCookieText = h["set-cookie"].map((l) => l
            .replace(/^([^=;]*)=[^;]*/, "$1=#")
            .replace(/Expires=([^;]*)/i, (m, d) => (/1970/.test(d) ? m
                : "Expires=" + d.replace(/\d/g, "#")
                    .replace(/^[A-Za-z]{3},/, "#,"))));
    }
    out.frontToken = frontToken(one(h, "front-token"));
    out.stAccessToken = tokenClass(one(h, "st-access-token"));
    out.stRefreshToken = tokenClass(one(h, "st-refresh-token"));
    const ac = one(h, "anti-csrf");
    out.antiCsrf = ac === undefined ? undefined
        : /^[0-9a-f-]{36}$/.test(ac) ? "uuid" : ac;
    out.acao = one(h, "access-control-allow-origin");
    out.acac = one(h, "access-control-allow-credentials");
    out.acah = tokenSet(h["access-control-allow-headers"]);
    out.acam = tokenSet(h["access-control-allow-methods"]);
    out.acma = one(h, "access-control-max-age");
    out.aceh = tokenSet(h["access-control-expose-headers"]);
    out.vary = tokenSet(h.vary);
    const other = Object.keys(h).filter((k) => k.startsWith("access-control-")
        && !["access-control-allow-origin", "access-control-allow-credentials",
            "access-control-allow-headers", "access-control-allow-methods",
            "access-control-max-age", "access-control-expose-headers"]
            .includes(k));
    if (other.length) out.acOther = other.sort().join(",");
    // no header on one side only (an extra Cache-Control, X-…)
    out.headerNames = Object.keys(h).filter((k) => !IGNORED.has(k)).sort()
        .join(",");
    if (coreCalls) out.core = coreCalls;
    for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
    return out;
}

// Core calls as the stand-in logged them, without the ones that depend on
// cache timing (JWKS, apiversion); tokens reduced to their class.
// Headers: cdi-version, rid and api-key (its value as "set": both sides
// are given the same key).
// cores: with several cores, { index: port -> position in connectionURI,
// n, last: position of this side's previous call (kept across cases) }:
// each call's core is compared as its step from the side's previous call
// ("+1": the next core, "+0": the same), the round robin as each side
// sees it. Not the core's name: a case where one side makes a core call
// and the other none (an accepted difference, e.g. strict-base64url with
// checkDatabase) moves one side's index on, and every later call would
// differ by name while both still step alike.
function coreView(entries, cores) {
    return entries
        .filter((e) => e.path !== "/.well-known/jwks.json" &&
            e.path !== "/apiversion")
        .map((e) => {
            const r = { call: `${e.method} ${e.path}` };
            if (cores) {
                const i = cores.index[e.port];
                // steps are compared once both sides have made a call
                // (cores.compare, run.js): one side's first call may have
                // been in a case where the other side made none
                if (i === undefined) r.core = "port " + e.port;
                else if (cores.compare && cores.last !== undefined) {
                    r.core = "+" + ((i - cores.last + cores.n) % cores.n);
                }
                if (i !== undefined) cores.last = i;
            }
            const h = e.headers || {};
            r.headers = { cdi: h["cdi-version"], rid: h.rid,
                apiKey: h["api-key"] === undefined ? undefined
                    : (h["api-key"] === "" ? "empty" : "set") };
            if (e.query) {
                r.query = e.query.replace(/^\?/, "").split("&").sort()
                    .join("&");
            }
            if (e.body && typeof e.body === "object") {
                const b = { ...e.body };
                if (typeof b.accessToken === "string") {
                    b.accessToken = tokenClass(b.accessToken);
                }
                r.body = b;
            }
            return r;
        });
}

function isObj(x) {
    return x !== null && typeof x === "object";
}

// Structural difference with clock tolerance; pushes {path, a, b}.
function diff(a, b, path, out, key) {
    if (a === b) return;
    if (typeof a === "number" && typeof b === "number") {
        if ((TIME_S.has(key) || AGE_S.has(key)) && Math.abs(a - b) <= TOL_S) {
            return;
        }
        if (TIME_MS.has(key) && Math.abs(a - b) <= TOL_MS) return;
        out.push({ path, a, b });
        return;
    }
    if (isObj(a) && isObj(b) && Array.isArray(a) === Array.isArray(b)) {
        const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
        for (const k of keys) {
            // own members only: `in` finds "__proto__" in every object
            if (!Object.hasOwn(a, k)) out.push({ path: path + "." + k,
                a: "(absent)", b: b[k] });
            else if (!Object.hasOwn(b, k)) out.push({ path: path + "." + k,
                a: a[k], b: "(absent)" });
            else diff(a[k], b[k], path + "." + k, out, k);
        }
        return;
    }
    out.push({ path, a: a === undefined ? "(absent)" : a,
        b: b === undefined ? "(absent)" : b });
}

function compare(va, vb) {
    const out = [];
    const keys = new Set([...Object.keys(va), ...Object.keys(vb)]);
    for (const k of keys) {
        diff(va[k], vb[k], k, out, k);
    }
    return out;
}

module.exports = { view, coreView, compare, tokenClass, frontToken,
    IGNORED };
