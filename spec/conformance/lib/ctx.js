"use strict";
// What a case sees: the configuration, token minting with the stand-in's
// keys, and the stand-in's control API.
const crypto = require("crypto");
const { mint, decode } = require("../../support/core/mint");
const { getJson } = require("./http");

function coreClient(port) {
    const post = (p) => getJson(port, "/__standin/" + p, "POST", {});
    // the core APIs a case's setup calls, with the configuration's api key
    // (run.js sets client.apiKey)
    const api = (p, method, body) => getJson(port, p, method, body,
        client.apiKey === undefined ? [] : [["api-key", client.apiKey]]);
    const q = (o) => Object.entries(o).filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&");
    const client = {
        port,
        reset: (o = {}) => post("reset?" + q(o)),
        snapshot: (name) => post("snapshot?name=" + name),
        restore: (name) => post("restore?name=" + name),
        state: () => getJson(port, "/__standin/state"),
        logSince: (n) => getJson(port, "/__standin/log?since=" + n),
        user: (body) => getJson(port, "/__standin/user", "POST", body),
        emailVerified: (userId, verified = true, email) => post(
            "email-verified?" + q({ userId, email,
                verified: verified ? 1 : 0 })),
        // UserRoles: a tenant the core knows, a role with its permissions,
        // a user's roles in a tenant (default public)
        tenant: (tenantId) => post("tenant?" + q({ tenantId })),
        role: (role, permissions = []) => getJson(port, "/__standin/role",
            "POST", { role, permissions }),
        userRoles: (userId, roles, tenantId) => getJson(port,
            "/__standin/user-roles", "POST", { userId, roles, tenantId }),
        register: (token, extra = {}) =>
            getJson(port, "/__standin/session", "POST", { token, ...extra }),
        revoke: (handle) => post("revoke?" + q({ handle })),
        rotate: (drop) => post("rotate" + (drop ? "?drop=1" : "")),
        jwks: (mode, o = {}) => post("jwks?" + q({ mode, ...o })),
        fault: (api, mode, o = {}) => post("fault?" + q({ api, mode, ...o })),
        config: (o) => post("config?" + q(o)),
        verify: (accessToken, o = {}) => api(
            "/recipe/session/verify", "POST", { accessToken,
                doAntiCsrfCheck: false, enableAntiCsrf: false,
                checkDatabase: false, ...o }),
        create: (userId, o = {}) => api("/public/recipe/session",
            "POST", { userId, enableAntiCsrf: !!o.antiCsrf,
                userDataInJWT: o.payload || {}, userDataInDatabase: {},
                useDynamicSigningKey: o.useDynamicSigningKey !== false }),
        refresh: (refreshToken, o = {}) => api(
            "/recipe/session/refresh", "POST", { refreshToken,
                antiCsrfToken: o.antiCsrf, enableAntiCsrf: !!o.antiCsrf,
                useDynamicSigningKey: o.useDynamicSigningKey !== false }),
        // a fault of one listener (one core of several): port, mode
        listener: (port, mode) => post("listener?" + q({ port, mode })),
    };
    return client;
}

// The claim keys of the configuration's ST_CLAIMS validators.
function claimKeys(cfg) {
    const specs = cfg.env.ST_CLAIMS ? JSON.parse(cfg.env.ST_CLAIMS) : [];
    return specs.map((s) => s.claim);
}

function makeCtx(cfg, core, kids, stateDir) {
    const apiDomain = (cfg.env.ST_API_DOMAIN || "http://localhost:3001")
        .replace(/\/+$/, "");
    const iss = apiDomain + (cfg.env.ST_API_BASE_PATH || "/auth");
    const staticCfg = cfg.env.ST_USE_DYNAMIC_ACCESS_TOKEN_SIGNING_KEY ===
        "false";
    const ctx = {
        cfg, core, kids,
        origin: cfg.env.ST_WEBSITE_DOMAIN || "http://localhost:3000",
        iss,
        // The key the configured SDK accepts (dynamic, or static when
        // useDynamicAccessTokenSigningKey is false), and the other one.
        goodKey: staticCfg ? "static" : "dynamic",
        wrongKey: staticCfg ? "dynamic" : "static",
        // With EmailVerification REQUIRED a token without st-ev makes the
        // SDK refetch it from the core; plain cases carry a verified st-ev
        // so that they test what they name. ev:false leaves it out.
        ev: (cfg.env.ST_EMAIL_VERIFICATION || "").toUpperCase() ===
            "REQUIRED",
        // With role/permission validators (ST_CLAIMS) the same for st-role
        // and st-perm: values every configured validator accepts, fetched
        // now. roles:false leaves them out.
        roles: claimKeys(cfg).some((k) => k === "st-role" || k === "st-perm"),
        roleClaims: () => ({ "st-role": { v: ["admin"], t: Date.now() },
            "st-perm": { v: ["read", "write"], t: Date.now() } }),
        // With the MFA validator (ST_CLAIMS st-mfa): a session whose auth
        // requirements are met (node's value after a first factor),
        // mfa:false leaves it out (node then fetches it through the MFA
        // recipe: known difference mfa-missing-claim-fetch).
        mfa: claimKeys(cfg).includes("st-mfa"),
        mfaClaims: () => ({ "st-mfa": { c: { emailpassword:
            Date.now() - 1000 }, v: true } }),
        // the claims mint() adds in this configuration (for payloads that
        // do not go through it: core-minted sessions)
        baseClaims: () => ({
            ...(ctx.ev ? { "st-ev": { v: true, t: Date.now() } } : {}),
            ...(ctx.roles ? ctx.roleClaims() : {}),
            ...(ctx.mfa ? ctx.mfaClaims() : {}) }),
        T(o = {}) {
            return ctx.mint(o).token;
        },
        mint(o = {}) {
            const opts = { key: ctx.goodKey, iss, stateDir, ...o };
            if (ctx.ev && o.ev !== false &&
                !(o.claims && "st-ev" in o.claims)) {
                opts.claims = { "st-ev": { v: true, t: Date.now() },
                    ...(o.claims || {}) };
            }
            if (ctx.roles && o.roles !== false) {
                opts.claims = { ...ctx.roleClaims(), ...opts.claims || {} };
            }
            if (ctx.mfa && o.mfa !== false) {
                opts.claims = { ...ctx.mfaClaims(), ...opts.claims || {} };
            }
            delete opts.ev;
            delete opts.roles;
            delete opts.mfa;
            return mint(opts);
        },
        mintDecode: decode,
        uuid: () => crypto.randomUUID(),
        now: () => Math.floor(Date.now() / 1000),
        nowMs: () => Date.now(),
    };
    return ctx;
}

// Request helpers for case files.
const H = {
    bearer: (t) => ["Authorization", "Bearer " + t],
    cookie: (s) => ["Cookie", s],
    at: (t) => "sAccessToken=" + t,
};

module.exports = { coreClient, makeCtx, claimKeys, H };
