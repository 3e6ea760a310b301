#!/usr/bin/env node
"use strict";
// SuperTokens core stand-in (Node builtins only). Answers the CDI 5.x
// session, user and email-verification APIs the way supertokens-core
// 12.0.x does (Session.java, AccessToken.java, JWT.java, the webserver
// APIs), so that supertokens-node and the gateway can be run against it.
// See README.md next to this file for the endpoint list and the
// /__standin/ control API.
//
// UserRoles: GET [/<tenant>]/recipe/user/roles and /recipe/role/permissions
// (GetRolesForUserAPI, GetPermissionsForRoleAPI); tenants other than
// "public" exist once /__standin/tenant adds them, as in the core.
//
// env: CORE_PORT (3567) CORE_HOST (127.0.0.1) CORE_STATE_DIR
//      ACCESS_TOKEN_VALIDITY_S (3600) REFRESH_TOKEN_VALIDITY_S (8640000)
//      CORE_API_KEYS (comma list; unset = no key needed)
//      CORE_EXTRA_PORTS (comma list: more listeners on the same state, as
//      several cores on one database; each logged call says its port)
//      JWKS_MAX_AGE_S (unset = computed like the core)
//      DYNAMIC_KEY_UPDATE_INTERVAL_H (168)  CORE_QUIET=1 (no stdout log)
const http = require("http");
const crypto = require("crypto");
const { URL } = require("url");
const keysLib = require("./lib/keys");
const J = require("./lib/jwt");

const env = process.env;
const HOST = env.CORE_HOST || "127.0.0.1";
const PORT = Number(env.CORE_PORT || 3567);
const DIR = keysLib.stateDir();
const CDI = ["2.7", "2.8", "2.9", "2.10", "2.11", "2.12", "2.13", "2.14",
    "2.15", "2.16", "2.17", "2.18", "2.19", "2.20", "2.21", "3.0", "3.1",
    "4.0", "5.0", "5.1", "5.2", "5.3", "5.4", "5.5"];
const MAX_CDI = CDI[CDI.length - 1];
const LOG_MAX = 200000;
const BODY_MAX = 16 * 1024 * 1024;
const OVERLAP_MS = 60000;

const base = keysLib.loadBase(DIR);
const REFRESH_KEY = Buffer.from(base.refreshKey, "hex");

function defaultConfig() {
    return {
        accessTokenValidityMs:
            Number(env.ACCESS_TOKEN_VALIDITY_S || 3600) * 1000,
        refreshTokenValidityMs:
            Number(env.REFRESH_TOKEN_VALIDITY_S || 8640000) * 1000,
        apiKeys: (env.CORE_API_KEYS || "").split(",").map((s) => s.trim())
            .filter(Boolean),
    };
}

// Everything a case may change; /__standin/snapshot copies it.
function freshState() {
    return {
        sessions: {}, // handle -> session row
        users: {}, // recipe user id -> {id, email, primaryUserId, ...}
        verified: {}, // recipeUserId + "\n" + email -> true
        evTokens: {}, // email verification token -> {userId, email, tenant}
        tenants: ["public"], // tenant ids the core knows
        roles: {}, // role -> [permission, ...] (app-wide)
        userRoles: {}, // tenantId + "\n" + userId -> [role, ...]
        // published dynamic keys, newest first (rotations persist on disk
        // until /__standin/reset, as the core keeps them in its database)
        dynamic: [...keysLib.loadRotated(DIR), base.dynamic],
        // listener: port -> mode, a fault of one core of several (every
        // core API and the JWKS on that port)
        faults: { jwks: { mode: "ok" }, api: {}, listener: {} },
        config: defaultConfig(),
    };
}
let state = freshState();
const snapshots = {}; // name -> copy of state
const log = [];
let seq = 0;
const counters = {};

// -------------------------------------------------------------- helpers

const clone = (x) => JSON.parse(JSON.stringify(x));

function jsonEqual(a, b) {
    if (a === b) return true;
    if (typeof a !== typeof b || a === null || b === null) return false;
    if (typeof a !== "object") return false;
    if (Array.isArray(a) !== Array.isArray(b)) return false;
    if (Array.isArray(a)) {
        return a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
    }
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length &&
        ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) &&
            jsonEqual(a[k], b[k]));
}

function semver(v) {
    const m = /^(\d+)\.(\d+)$/.exec(String(v));
    return m ? Number(m[1]) * 1000 + Number(m[2]) : NaN;
}

function tokenVersionForCdi(cdi) {
    const v = semver(cdi);
    if (v >= semver("4.0")) return 5;
    if (v >= semver("3.0")) return 4;
    if (v >= semver("2.21")) return 3;
    return 2;
}

class HttpError extends Error {
    constructor(status, message) {
        super(message);
        this.status = status;
    }
}
const badRequest = (m) => new HttpError(400, m);

function field(body, name, type, nullable) {
    const v = body[name];
    if (v === undefined || v === null) {
        if (nullable) return null;
        throw badRequest(`Field name '${name}' is invalid in JSON input`);
    }
    const ok = type === "object"
        ? typeof v === "object" && !Array.isArray(v)
        : type === "array" ? Array.isArray(v) : typeof v === type;
    if (!ok) throw badRequest(`Field name '${name}' is invalid in JSON input`);
    return v;
}

function query(q, name, nullable) {
    const v = q.get(name);
    if (v === null && !nullable) {
        throw badRequest(`Field name '${name}' is missing in GET request`);
    }
    return v;
}

// ------------------------------------------------------------------ keys

function publishedKeys() {
    return [...state.dynamic, base.static];
}

function keyById(kid) {
    return publishedKeys().find((k) => k.kid === kid) || null;
}

function jwk(k) {
    return { kty: "RSA", kid: k.kid, n: k.n, e: k.e, alg: "RS256",
        use: "sig" };
}

// One P-256 key, for a JWKS without an RSA key (fault mode "norsa"):
// made on first use, never signs anything.
let ecKey = null;
function ecJwk() {
    if (!ecKey) {
        const { publicKey } = crypto.generateKeyPairSync("ec",
            { namedCurve: "P-256" });
        ecKey = { ...publicKey.export({ format: "jwk" }), kid: "ec-norsa",
            alg: "ES256", use: "sig" };
    }
    return ecKey;
}

function jwksMaxAge() {
    if (env.JWKS_MAX_AGE_S) return Number(env.JWKS_MAX_AGE_S);
    const interval =
        Number(env.DYNAMIC_KEY_UPDATE_INTERVAL_H || 168) * 3600000;
    const latest = state.dynamic[0].createdAt;
    const left = Math.trunc((latest + interval - OVERLAP_MS - Date.now()) /
        1000);
    return Math.max(left, 1);
}

// ---------------------------------------------------------------- tokens

function mintAccessToken(info, useStaticKey) {
    const key = useStaticKey ? base.static : state.dynamic[0];
    const payload = J.corePayload(info);
    const token = info.version >= 3
        ? J.encodeJws(J.coreHeader(key.kid, info.version), payload, key)
        : J.encodeJws(null, payload, key, { legacy: info.version });
    const expiry = info.version >= 3
        ? info.expiryTime - (info.expiryTime % 1000) : info.expiryTime;
    const created = info.version >= 3
        ? info.timeCreated - (info.timeCreated % 1000) : info.timeCreated;
    return { token, expiry, createdTime: created };
}

// Refresh tokens are opaque to the SDK: AES-256-GCM over the session
// reference, "<std-base64>.<nonce>.V2" like the core's RefreshToken.
function mintRefreshToken(sessionHandle, userId, parentHash1, antiCsrf,
    tenantId) {
    const nonce = crypto.randomUUID();
    const iv = crypto.randomBytes(12);
    const c = crypto.createCipheriv("aes-256-gcm", REFRESH_KEY, iv);
    const plain = JSON.stringify({ sessionHandle, userId, tenantId,
        parentRefreshTokenHash1: parentHash1, antiCsrfToken: antiCsrf,
        nonce });
    const ct = Buffer.concat([c.update(plain, "utf8"), c.final()]);
    const token = Buffer.concat([iv, ct, c.getAuthTag()]).toString("base64") +
        "." + nonce + ".V2";
    const now = Date.now();
    return { token, expiry: now + state.config.refreshTokenValidityMs,
        createdTime: now };
}

function readRefreshToken(token) {
    try {
        const parts = token.split(".");
        if (parts.length !== 3 || parts[2] !== "V2") throw new Error("fmt");
        const raw = Buffer.from(parts[0], "base64");
        const iv = raw.subarray(0, 12);
        const tag = raw.subarray(raw.length - 16);
        const d = crypto.createDecipheriv("aes-256-gcm", REFRESH_KEY, iv);
        d.setAuthTag(tag);
        const plain = Buffer.concat([
            d.update(raw.subarray(12, raw.length - 16)), d.final()]);
        const info = JSON.parse(plain.toString("utf8"));
        if (info.nonce !== parts[1]) throw new Error("nonce");
        return info;
    } catch (e) {
        throw new J.CoreError("unauthorised", "Invalid refresh token");
    }
}

// AccessToken.getInfoFromAccessToken (signature, structure, expiry).
function infoFromAccessToken(token, antiCsrfRequired) {
    const pre = J.preParse(token);
    let ok = false;
    if (pre.version >= 3) {
        const key = keyById(pre.kid);
        if (!key) throw J.tryRefresh("Key not found");
        ok = J.verifySig(pre, key);
    } else {
        ok = publishedKeys().some((k) => J.verifySig(pre, k));
    }
    if (!ok) throw J.tryRefresh("JWT verification failed");
    const info = J.infoFromPayload(J.decodePayload(pre), pre.version);
    if (info.expiryTime < Date.now()) {
        throw J.tryRefresh("Access token expired");
    }
    if (antiCsrfRequired && info.antiCsrfToken === null) {
        throw J.tryRefresh("Access token does not contain all the " +
            "information. Maybe the structure has changed?");
    }
    return info;
}

function infoWithoutVerifying(token) {
    const pre = J.preParse(token);
    return J.infoFromPayload(J.decodePayload(pre), pre.version);
}

function sessionJson(handle, primaryUserId, recipeUserId, userDataInJWT,
    tenantId) {
    return { handle, userId: primaryUserId, recipeUserId, userDataInJWT,
        tenantId };
}

function primaryOf(recipeUserId) {
    const u = state.users[recipeUserId];
    return (u && u.primaryUserId) || recipeUserId;
}

// --------------------------------------------------------- session APIs

function createSession(ctx) {
    const b = ctx.body;
    const userId = field(b, "userId", "string");
    const enableAntiCsrf = field(b, "enableAntiCsrf", "boolean");
    const userDataInJWT = field(b, "userDataInJWT", "object");
    const userDataInDatabase = field(b, "userDataInDatabase", "object");
    const useDynamic = field(b, "useDynamicSigningKey", "boolean", true);
    const useStaticKey = useDynamic === false;
    needTenant(ctx);
    const version = tokenVersionForCdi(ctx.cdi);
    let handle = crypto.randomUUID();
    if (ctx.tenant !== "public") handle += "_" + ctx.tenant;
    const primary = primaryOf(userId);
    const antiCsrf = enableAntiCsrf ? crypto.randomUUID() : null;
    const rt = mintRefreshToken(handle, userId, null, antiCsrf, ctx.tenant);
    const now = Date.now();
    const at = mintAccessToken({
        version, sessionHandle: handle, primaryUserId: primary,
        recipeUserId: userId, tenantId: ctx.tenant,
        refreshTokenHash1: J.sha256hex(rt.token),
        parentRefreshTokenHash1: null, antiCsrfToken: antiCsrf,
        expiryTime: now + state.config.accessTokenValidityMs,
        timeCreated: now, userData: userDataInJWT,
    }, useStaticKey);
    state.sessions[handle] = {
        handle, tenantId: ctx.tenant, recipeUserId: userId,
        primaryUserId: primary,
        refreshTokenHash2: J.sha256hex(J.sha256hex(rt.token)),
        userDataInJWT, userDataInDatabase, expiry: rt.expiry,
        timeCreated: rt.createdTime, useStaticKey,
    };
    const out = {
        session: sessionJson(handle, primary, userId, userDataInJWT,
            ctx.tenant),
        accessToken: at, refreshToken: rt,
    };
    if (antiCsrf !== null) out.antiCsrfToken = antiCsrf;
    out.status = "OK";
    return out;
}

// Session.getSession (CDI <= 5.5 behaviour).
function verifySession(ctx) {
    const b = ctx.body;
    const accessToken = field(b, "accessToken", "string");
    const antiCsrfToken = field(b, "antiCsrfToken", "string", true);
    const doAntiCsrfCheck = field(b, "doAntiCsrfCheck", "boolean");
    const enableAntiCsrf = field(b, "enableAntiCsrf", "boolean");
    const checkDatabase = semver(ctx.cdi) >= semver("2.21")
        ? field(b, "checkDatabase", "boolean") === true : false;
    const info = infoFromAccessToken(accessToken,
        doAntiCsrfCheck && enableAntiCsrf);
    if (enableAntiCsrf && doAntiCsrfCheck &&
        (antiCsrfToken === null || antiCsrfToken !== info.antiCsrfToken)) {
        throw J.tryRefresh("anti-csrf check failed");
    }
    let row = null;
    if (checkDatabase) {
        row = state.sessions[info.sessionHandle] || null;
        if (!row) {
            throw new J.CoreError("unauthorised",
                "Either the session has ended or has been blacklisted");
        }
    }
    const needsUpdate = row !== null &&
        !jsonEqual(info.userData, row.userDataInJWT);
    const plain = () => ({
        session: sessionJson(info.sessionHandle, info.primaryUserId,
            info.recipeUserId, info.userData, info.tenantId),
        status: "OK",
    });
    if (info.parentRefreshTokenHash1 === null && !needsUpdate) return plain();

    row = state.sessions[info.sessionHandle];
    if (!row) throw new J.CoreError("unauthorised", "Session missing in db");
    const promote = info.parentRefreshTokenHash1 !== null &&
        row.refreshTokenHash2 === J.sha256hex(info.parentRefreshTokenHash1);
    if (promote ||
        row.refreshTokenHash2 === J.sha256hex(info.refreshTokenHash1) ||
        needsUpdate) {
        if (promote) {
            row.refreshTokenHash2 = J.sha256hex(info.refreshTokenHash1);
            row.expiry = Date.now() + state.config.refreshTokenValidityMs;
        }
        const now = Date.now();
        const at = mintAccessToken({
            ...info, parentRefreshTokenHash1: null,
            userData: row.userDataInJWT, timeCreated: now,
            expiryTime: now + state.config.accessTokenValidityMs,
        }, row.useStaticKey);
        return {
            session: sessionJson(info.sessionHandle, info.primaryUserId,
                info.recipeUserId, row.userDataInJWT, info.tenantId),
            accessToken: at, status: "OK",
        };
    }
    return plain();
}

function regenerate(ctx) {
    const b = ctx.body;
    const accessToken = field(b, "accessToken", "string");
    const userDataInJWT = field(b, "userDataInJWT", "object", true);
    let info;
    try {
        info = infoWithoutVerifying(accessToken);
    } catch (e) {
        if (e.kind === "try_refresh" && /^(Invalid JWT|JWT header)/
            .test(e.message)) {
            // JWT.JWTException is not mapped by SessionRegenerateAPI.
            throw new J.CoreError("server",
                "io.supertokens.session.jwt.JWT$JWTException: " + e.message);
        }
        if (e.kind === "try_refresh") {
            throw new J.CoreError("unauthorised", e.message);
        }
        throw e;
    }
    const row = state.sessions[info.sessionHandle];
    if (!row) throw new J.CoreError("unauthorised", "Session does not exist.");
    const payload = userDataInJWT === null ? row.userDataInJWT : userDataInJWT;
    // Validate before storing: a protected claim is a 400.
    J.corePayload({ ...info, userData: payload });
    row.userDataInJWT = payload;
    const sess = sessionJson(info.sessionHandle, info.primaryUserId,
        info.recipeUserId, payload, info.tenantId);
    if (info.expiryTime < Date.now()) return { session: sess, status: "OK" };
    const at = mintAccessToken({ ...info, userData: payload,
        timeCreated: Date.now() }, row.useStaticKey);
    return { session: sess, accessToken: at, status: "OK" };
}

function refresh(ctx) {
    const b = ctx.body;
    const refreshToken = field(b, "refreshToken", "string");
    const antiCsrfToken = field(b, "antiCsrfToken", "string", true);
    const enableAntiCsrf = field(b, "enableAntiCsrf", "boolean");
    let useDynamic = null;
    if (semver(ctx.cdi) >= semver("3.0")) {
        useDynamic = field(b, "useDynamicSigningKey", "boolean",
            semver(ctx.cdi) < semver("5.0"));
    }
    const shouldUseStatic = useDynamic === null ? null : useDynamic === false;
    const version = tokenVersionForCdi(ctx.cdi);
    const rti = readRefreshToken(refreshToken);
    if (enableAntiCsrf && rti.antiCsrfToken !== null &&
        rti.antiCsrfToken !== antiCsrfToken) {
        throw new J.CoreError("unauthorised",
            "Anti CSRF token missing, or not matching");
    }
    for (let depth = 0; depth < 2; depth++) {
        const row = state.sessions[rti.sessionHandle];
        if (!row || row.expiry < Date.now()) {
            throw new J.CoreError("unauthorised",
                "Session missing in db or has expired");
        }
        const useStaticKey = shouldUseStatic !== null ? shouldUseStatic
            : row.useStaticKey;
        if (row.refreshTokenHash2 ===
            J.sha256hex(J.sha256hex(refreshToken))) {
            row.useStaticKey = useStaticKey;
            const antiCsrf = enableAntiCsrf ? crypto.randomUUID() : null;
            const rt = mintRefreshToken(row.handle, row.recipeUserId,
                J.sha256hex(refreshToken), antiCsrf, row.tenantId);
            const now = Date.now();
            const at = mintAccessToken({
                version, sessionHandle: row.handle,
                primaryUserId: row.primaryUserId,
                recipeUserId: row.recipeUserId, tenantId: row.tenantId,
                refreshTokenHash1: J.sha256hex(rt.token),
                parentRefreshTokenHash1: J.sha256hex(refreshToken),
                antiCsrfToken: antiCsrf,
                expiryTime: now + state.config.accessTokenValidityMs,
                timeCreated: now, userData: row.userDataInJWT,
            }, useStaticKey);
            const out = {
                session: sessionJson(row.handle, row.primaryUserId,
                    row.recipeUserId, row.userDataInJWT, row.tenantId),
                accessToken: at, refreshToken: rt,
            };
            if (antiCsrf !== null) out.antiCsrfToken = antiCsrf;
            out.status = "OK";
            return out;
        }
        if (depth === 0 && rti.parentRefreshTokenHash1 !== null &&
            J.sha256hex(rti.parentRefreshTokenHash1) ===
            row.refreshTokenHash2) {
            row.refreshTokenHash2 = J.sha256hex(J.sha256hex(refreshToken));
            row.expiry = Date.now() + state.config.refreshTokenValidityMs;
            row.useStaticKey = useStaticKey;
            continue;
        }
        return {
            status: "TOKEN_THEFT_DETECTED",
            session: { handle: row.handle, userId: row.primaryUserId,
                recipeUserId: row.recipeUserId },
        };
    }
    throw new Error("unreachable");
}

function removeSessions(ctx) {
    const b = ctx.body;
    const userId = field(b, "userId", "string", true);
    const handles = field(b, "sessionHandles", "array", true);
    const revoked = [];
    if (handles !== null) {
        for (const h of handles) {
            if (typeof h !== "string") {
                throw badRequest(
                    "Field name 'sessionHandles' is invalid in JSON input");
            }
            if (state.sessions[h]) {
                delete state.sessions[h];
                revoked.push(h);
            }
        }
    } else if (userId !== null) {
        for (const [h, s] of Object.entries(state.sessions)) {
            if (s.recipeUserId === userId || s.primaryUserId === userId) {
                delete state.sessions[h];
                revoked.push(h);
            }
        }
    } else {
        throw badRequest("Invalid JSON input - use one of userId or " +
            "sessionHandles array");
    }
    return { status: "OK", sessionHandlesRevoked: revoked };
}

function getSessionInfo(ctx) {
    const h = query(ctx.query, "sessionHandle");
    const s = state.sessions[h];
    if (!s) {
        return { status: "UNAUTHORISED", message: "Session does not exist." };
    }
    return {
        sessionHandle: s.handle, userId: s.primaryUserId,
        recipeUserId: s.recipeUserId, expiry: s.expiry,
        userDataInJWT: s.userDataInJWT,
        userDataInDatabase: s.userDataInDatabase,
        timeCreated: s.timeCreated, status: "OK", tenantId: s.tenantId,
    };
}

function sessionsOfUser(ctx) {
    const u = query(ctx.query, "userId");
    const hs = Object.values(state.sessions)
        .filter((s) => s.recipeUserId === u || s.primaryUserId === u)
        .map((s) => s.handle);
    return { status: "OK", sessionHandles: hs };
}

function putSessionData(ctx, key) {
    const h = field(ctx.body, "sessionHandle", "string");
    const data = field(ctx.body, key, "object");
    const s = state.sessions[h];
    if (!s) {
        return { status: "UNAUTHORISED", message: "Session does not exist." };
    }
    s[key] = data;
    return { status: "OK" };
}

// ------------------------------------------------------------ user APIs

function userJson(primaryId) {
    const members = Object.values(state.users)
        .filter((u) => u.id === primaryId || u.primaryUserId === primaryId);
    if (members.length === 0) return null;
    const first = state.users[primaryId] || members[0];
    const loginMethods = members.map((u) => ({
        tenantIds: u.tenantIds, recipeUserId: u.id,
        verified: u.email !== undefined &&
            state.verified[u.id + "\n" + u.email] === true,
        timeJoined: u.timeJoined, recipeId: u.recipeId,
        ...(u.email !== undefined ? { email: u.email } : {}),
    }));
    return {
        id: primaryId,
        isPrimaryUser: members.some((u) => u.primaryUserId === primaryId),
        tenantIds: first.tenantIds, timeJoined: first.timeJoined,
        emails: [...new Set(members.filter((u) => u.email !== undefined)
            .map((u) => u.email))],
        phoneNumbers: [], thirdParty: [],
        webauthn: { credentialIds: [] },
        loginMethods,
    };
}

function getUser(ctx) {
    const id = query(ctx.query, "userId");
    const u = state.users[id];
    if (!u) return { status: "UNKNOWN_USER_ID_ERROR" };
    return { status: "OK", user: userJson(u.primaryUserId || u.id) };
}

function isEmailVerified(ctx) {
    const userId = query(ctx.query, "userId");
    const email = query(ctx.query, "email");
    return { status: "OK",
        isVerified: state.verified[userId + "\n" + email] === true };
}

function createEvToken(ctx) {
    const userId = field(ctx.body, "userId", "string");
    const email = field(ctx.body, "email", "string");
    needTenant(ctx);
    if (state.verified[userId + "\n" + email]) {
        return { status: "EMAIL_ALREADY_VERIFIED_ERROR" };
    }
    const token = crypto.randomBytes(48).toString("base64url");
    state.evTokens[token] = { userId, email, tenantId: ctx.tenant };
    return { status: "OK", token };
}

function verifyEvToken(ctx) {
    const method = field(ctx.body, "method", "string");
    if (method !== "token") {
        throw badRequest("Unsupported method for email verification");
    }
    const token = field(ctx.body, "token", "string");
    needTenant(ctx);
    const t = state.evTokens[token];
    if (!t || t.tenantId !== ctx.tenant) {
        return { status: "EMAIL_VERIFICATION_INVALID_TOKEN_ERROR" };
    }
    for (const [k, v] of Object.entries(state.evTokens)) {
        if (v.userId === t.userId && v.email === t.email) {
            delete state.evTokens[k];
        }
    }
    state.verified[t.userId + "\n" + t.email] = true;
    return { status: "OK", userId: t.userId, email: t.email };
}

function unverifyEmail(ctx) {
    const userId = field(ctx.body, "userId", "string");
    const email = field(ctx.body, "email", "string");
    delete state.verified[userId + "\n" + email];
    return { status: "OK" };
}

function removeEvTokens(ctx) {
    const userId = field(ctx.body, "userId", "string");
    const email = field(ctx.body, "email", "string");
    needTenant(ctx);
    for (const [k, v] of Object.entries(state.evTokens)) {
        if (v.userId === userId && v.email === email) delete state.evTokens[k];
    }
    return { status: "OK" };
}

// ------------------------------------------------------ user roles APIs

// Java's String.trim(): every char <= U+0020 at either end.
const javaTrim = (s) => s.replace(/^[\x00-\x20]+|[\x00-\x20]+$/g, "");

// WebserverAPI.getTenantStorage: a tenant the core does not know is a
// TenantOrAppNotFoundException, answered 400 by WebserverAPI.service.
// Only the app "public" exists.
function needTenant(ctx) {
    if (ctx.app !== "public" || !state.tenants.includes(ctx.tenant)) {
        throw new HttpError(400, "AppId or tenantId not found => appId: " +
            ctx.app + ", tenantId: " + ctx.tenant);
    }
}

// CreateOrUpdateTenantOrGetTenantV2API.doGet (MultiFactorAuth's fetch of
// st-mfa reads it through Multitenancy.getTenant): an unknown tenant is
// caught there, TENANT_NOT_FOUND_ERROR (200); a known one is
// TenantConfig.toJson_v2 of a tenant created without config: Gson drops
// the null firstFactors / requiredSecondaryFactors, toJson_v2 removes
// emailPassword, passwordless and thirdParty.enabled.
function getTenantV2(ctx) {
    if (ctx.app !== "public" || !state.tenants.includes(ctx.tenant)) {
        return { status: "TENANT_NOT_FOUND_ERROR" };
    }
    return { thirdParty: { providers: [] }, coreConfig: {},
        tenantId: ctx.tenant, status: "OK" };
}

// GetRolesForUserAPI (tenant specific; no check that the user exists)
function getRolesForUser(ctx) {
    const userId = query(ctx.query, "userId");
    needTenant(ctx);
    return { roles: [...(state.userRoles[ctx.tenant + "\n" + userId] || [])],
        status: "OK" };
}

// GetPermissionsForRoleAPI (app specific: public tenant only from CDI 5.0)
function getPermissionsForRole(ctx) {
    const role = javaTrim(query(ctx.query, "role"));
    if (role.length === 0) {
        throw badRequest("Field name 'role' cannot be an empty String");
    }
    if (ctx.tenant !== "public" && semver(ctx.cdi) >= semver("5.0")) {
        throw new HttpError(403,
            "Only public tenantId can call this app specific API");
    }
    const perms = Object.prototype.hasOwnProperty.call(state.roles, role)
        ? state.roles[role] : null;
    if (perms === null) return { status: "UNKNOWN_ROLE_ERROR" };
    return { permissions: [...perms], status: "OK" };
}

// ------------------------------------------------------- control (test)

// A role name or permission as the core stores it (CreateRoleAPI trims
// it and refuses an empty one).
function roleName(v, what) {
    if (typeof v !== "string" || javaTrim(v) === "") {
        throw badRequest(what + ": a non-empty string");
    }
    return javaTrim(v);
}

// CreateRoleAPI's effect: the role with exactly these permissions.
function putRole(body) {
    const role = roleName(body.role, "role");
    const list = body.permissions === undefined ? [] : body.permissions;
    if (!Array.isArray(list)) throw badRequest("permissions: an array");
    const perms = [];
    for (const p of list) {
        const n = roleName(p, "permissions[]");
        if (!perms.includes(n)) perms.push(n);
    }
    state.roles[role] = perms;
    return { status: "OK", role, permissions: perms };
}

// AddUserRoleAPI's effect for each role, in order (roles the core does not
// know yet are created without permissions); replaces the user's roles in
// that tenant.
function putUserRoles(body) {
    const userId = field(body, "userId", "string");
    const tenantId = body.tenantId === undefined ? "public" : body.tenantId;
    if (!state.tenants.includes(tenantId)) {
        throw badRequest("unknown tenant " + tenantId + " (POST tenant)");
    }
    const list = field(body, "roles", "array");
    const roles = [];
    for (const r of list) {
        const n = roleName(r, "roles[]");
        if (!Object.prototype.hasOwnProperty.call(state.roles, n)) {
            state.roles[n] = [];
        }
        if (!roles.includes(n)) roles.push(n);
    }
    state.userRoles[tenantId + "\n" + userId] = roles;
    return { status: "OK", userId, tenantId, roles };
}

// A tenant as CreateOrUpdateTenantOrGetTenantAPI would make it.
function putTenant(q) {
    const t = String(query(q, "tenantId")).toLowerCase();
    if (!/^[a-z0-9-]+$/.test(t) || TENANT_STOP_WORDS.includes(t)) {
        throw badRequest("invalid tenantId " + t);
    }
    if (!state.tenants.includes(t)) state.tenants.push(t);
    return { status: "OK", tenants: state.tenants };
}


function putUser(body) {
    const id = field(body, "userId", "string");
    const prev = state.users[id] || {};
    const u = {
        id,
        email: body.email === undefined ? prev.email
            : body.email === null ? undefined : String(body.email),
        primaryUserId: body.primaryUserId !== undefined
            ? body.primaryUserId || undefined : prev.primaryUserId,
        tenantIds: body.tenantIds || prev.tenantIds || ["public"],
        timeJoined: prev.timeJoined || Date.now(),
        recipeId: body.recipeId || prev.recipeId || "emailpassword",
    };
    state.users[id] = u;
    if (body.verified !== undefined && u.email !== undefined) {
        if (body.verified) state.verified[id + "\n" + u.email] = true;
        else delete state.verified[id + "\n" + u.email];
    }
    return { status: "OK", user: userJson(u.primaryUserId || u.id) };
}

// A session row for a token that mint.js made, so that checkDatabase,
// promotion (parentRefreshTokenHash1) and regenerate find it.
function putSession(body) {
    let payload = body.payload;
    let version = body.version || 5;
    if (typeof body.token === "string") {
        const d = J.decode(body.token);
        payload = d.payload;
        if (d.legacy) version = d.legacy;
        else if (d.header && typeof d.header.version === "string") {
            version = Number(d.header.version) || 5;
        }
        if (d.header && typeof d.header.kid === "string" &&
            body.useStaticKey === undefined) {
            body.useStaticKey = d.header.kid.startsWith("s-");
        }
    }
    if (!payload || typeof payload !== "object") {
        throw badRequest("need token or payload");
    }
    const legacy = version < 3;
    const handle = String(payload.sessionHandle);
    const userData = {};
    if (legacy) Object.assign(userData, payload.userData || {});
    else {
        const prot = J.PROTECTED[Math.min(Math.max(version, 3), 5)];
        for (const [k, v] of Object.entries(payload)) {
            if (!prot.includes(k)) userData[k] = v;
        }
    }
    const sub = String(legacy ? payload.userId : payload.sub);
    const prth = payload.parentRefreshTokenHash1;
    const rth2 = body.refreshTokenHash2 || J.sha256hex(
        typeof prth === "string" ? prth : String(payload.refreshTokenHash1));
    const now = Date.now();
    state.sessions[handle] = {
        handle,
        tenantId: legacy || version === 3 ? "public"
            : String(payload.tId ?? "public"),
        recipeUserId: String(legacy ? sub : payload.rsub ?? sub),
        primaryUserId: sub, refreshTokenHash2: rth2,
        userDataInJWT: body.userDataInJWT || userData,
        userDataInDatabase: body.userDataInDatabase || {},
        expiry: now + state.config.refreshTokenValidityMs, timeCreated: now,
        useStaticKey: body.useStaticKey === true,
    };
    return { status: "OK", handle };
}

async function rotate(q) {
    const last = state.dynamic[0].createdAt;
    const now = Math.max(Date.now(), last + 1);
    const key = keysLib.newRsaKey("d-" + now, now);
    const rotated = keysLib.loadRotated(DIR);
    rotated.unshift(key);
    keysLib.saveRotated(rotated, DIR);
    state.dynamic = q.get("drop") === "1" ? [key] : [key, ...state.dynamic];
    return { status: "OK", kid: key.kid,
        published: publishedKeys().map((k) => k.kid) };
}

function setJwksFault(q) {
    const mode = q.get("mode") || "ok";
    const known = ["ok", "down", "slow", "html", "500", "404", "truncated",
        "cut", "huge", "dupkid", "empty", "notjson", "hang", "norsa"];
    if (!known.includes(mode)) throw badRequest("unknown mode " + mode);
    state.faults.jwks = {
        mode, ms: Number(q.get("ms") || 3000),
        bytes: Number(q.get("bytes") || 100 * 1024 * 1024),
        count: q.get("count") === null ? null : Number(q.get("count")),
    };
    return { status: "OK", jwks: state.faults.jwks };
}

function setApiFault(q) {
    const api = q.get("api") || "verify";
    const mode = q.get("mode") || "ok";
    if (!["ok", "500", "garbage", "down", "slow", "hang", "404", "429",
        "html", "json-array", "json-null", "json-nostatus"].includes(mode)) {
        throw badRequest("unknown mode " + mode);
    }
    if (mode === "ok") delete state.faults.api[api];
    else {
        state.faults.api[api] = { mode, ms: Number(q.get("ms") || 3000),
            count: q.get("count") === null ? null : Number(q.get("count")) };
    }
    return { status: "OK", api: state.faults.api };
}

// One listener (one core of several) answers every call on its port with
// a fault: down (connection dropped before any byte), 500, 404, html (200
// text/html, some other web server), 401 (as a core with other api keys).
function setListenerFault(q) {
    const port = Number(q.get("port"));
    const mode = q.get("mode") || "ok";
    if (!["ok", "down", "500", "404", "html", "401"].includes(mode)) {
        throw badRequest("unknown mode " + mode);
    }
    if (mode === "ok") delete state.faults.listener[port];
    else state.faults.listener[port] = mode;
    return { status: "OK", listener: state.faults.listener };
}

function applyListenerFault(req, res) {
    const mode = (state.faults.listener || {})[req.socket.localPort];
    switch (mode) {
    case undefined: return false;
    case "down": req.socket.destroy(); return true;
    case "500":
        send(res, 500, "java.lang.RuntimeException: injected fault");
        return true;
    case "404": send(res, 404, "Not found"); return true;
    case "401": send(res, 401, "Invalid API key"); return true;
    case "html":
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        res.end("<!DOCTYPE html><html><body>It works</body></html>\n");
        return true;
    default: return false;
    }
}

function reset(q) {
    const keepKeys = q.get("keys") === "keep";
    const dyn = state.dynamic;
    if (!keepKeys) keysLib.saveRotated([], DIR);
    state = freshState();
    if (keepKeys) state.dynamic = dyn;
    for (const k of Object.keys(snapshots)) delete snapshots[k];
    for (const k of Object.keys(counters)) delete counters[k];
    if (q.get("log") === "1") log.length = 0;
    return { status: "OK", seq };
}

function control(method, path, q, body) {
    const c = path.slice("/__standin/".length);
    const key = method + " " + c;
    switch (key) {
    case "GET log": {
        const since = Number(q.get("since") || 0);
        return { count: seq, requests: log.filter((e) => e.seq >= since) };
    }
    case "GET counters": return { status: "OK", counters };
    case "GET jwks-count":
        return { count: counters["GET /.well-known/jwks.json"] || 0 };
    case "GET state":
        return {
            status: "OK", sessions: Object.keys(state.sessions).length,
            users: Object.keys(state.users).length,
            tenants: state.tenants, roles: Object.keys(state.roles).length,
            published: publishedKeys().map((k) => k.kid),
            static: base.static.kid, rogue: base.rogue.kid,
            faults: state.faults, config: { ...state.config, apiKeys: undefined },
            stateDir: DIR,
        };
    case "GET session": return { status: "OK",
        session: state.sessions[q.get("handle")] || null };
    case "POST reset": return reset(q);
    case "POST snapshot":
        snapshots[q.get("name") || "default"] = clone(state);
        return { status: "OK" };
    case "POST restore": {
        const snap = snapshots[q.get("name") || "default"];
        if (!snap) throw badRequest("no snapshot");
        state = clone(snap);
        return { status: "OK" };
    }
    case "POST revoke": {
        const h = q.get("handle");
        const existed = !!state.sessions[h];
        delete state.sessions[h];
        return { status: "OK", existed };
    }
    case "POST user": return putUser(body);
    case "POST email-verified": {
        const userId = query(q, "userId");
        const u = state.users[userId];
        const email = q.get("email") || (u && u.email);
        if (!email) throw badRequest("user has no email; pass email=");
        if (!u) putUser({ userId, email });
        if (q.get("verified") === "0") {
            delete state.verified[userId + "\n" + email];
        } else state.verified[userId + "\n" + email] = true;
        return { status: "OK", userId, email,
            verified: state.verified[userId + "\n" + email] === true };
    }
    case "POST session": return putSession(body);
    case "POST role": return putRole(body);
    case "POST user-roles": return putUserRoles(body);
    case "POST tenant": return putTenant(q);
    case "POST rotate": return rotate(q);
    case "POST jwks": return setJwksFault(q);
    case "POST fault": return setApiFault(q);
    case "POST listener": return setListenerFault(q);
    case "POST config": {
        const at = q.get("access_token_validity_s");
        const rt = q.get("refresh_token_validity_s");
        if (at !== null) state.config.accessTokenValidityMs = Number(at) * 1000;
        if (rt !== null) {
            state.config.refreshTokenValidityMs = Number(rt) * 1000;
        }
        if (q.get("api_keys") !== null) {
            state.config.apiKeys = q.get("api_keys").split(",")
                .map((s) => s.trim()).filter(Boolean);
        }
        return { status: "OK" };
    }
    default: throw new HttpError(404, "Not found");
    }
}

// ---------------------------------------------------------------- router

// [method, path, handler, {tenant: tenant prefix allowed, key: api key
//  checked, version: cdi-version checked, fault: fault group}]
const ROUTES = [
    ["GET", "/apiversion", apiVersion, { version: false }],
    ["GET", "/hello", () => "Hello", { key: false, version: false }],
    ["GET", "/", () => "Hello", { key: false, version: false }],
    ["GET", "/.well-known/jwks.json", null, { key: false, version: false }],
    ["POST", "/recipe/session", createSession,
        { tenant: true, fault: "create" }],
    ["GET", "/recipe/session", getSessionInfo, { fault: "session" }],
    ["POST", "/recipe/session/verify", verifySession, { fault: "verify" }],
    ["POST", "/recipe/session/refresh", refresh, { fault: "refresh" }],
    ["POST", "/recipe/session/regenerate", regenerate,
        { fault: "regenerate" }],
    ["POST", "/recipe/session/remove", removeSessions, { fault: "remove" }],
    ["GET", "/recipe/session/user", sessionsOfUser, { fault: "session" }],
    ["PUT", "/recipe/session/data",
        (c) => putSessionData(c, "userDataInDatabase"), { fault: "session" }],
    ["PUT", "/recipe/jwt/data",
        (c) => putSessionData(c, "userDataInJWT"), { fault: "session" }],
    ["GET", "/user/id", getUser, { fault: "user" }],
    ["GET", "/recipe/user/email/verify", isEmailVerified,
        { fault: "emailverify" }],
    ["POST", "/recipe/user/email/verify/token", createEvToken,
        { tenant: true, fault: "emailverify" }],
    ["POST", "/recipe/user/email/verify", verifyEvToken,
        { tenant: true, fault: "emailverify" }],
    ["POST", "/recipe/user/email/verify/remove", unverifyEmail,
        { fault: "emailverify" }],
    ["POST", "/recipe/user/email/verify/token/remove", removeEvTokens,
        { tenant: true, fault: "emailverify" }],
    ["GET", "/recipe/user/roles", getRolesForUser,
        { tenant: true, fault: "userroles" }],
    ["GET", "/recipe/role/permissions", getPermissionsForRole,
        { tenant: true, fault: "permissions" }],
    ["GET", "/recipe/multitenancy/tenant/v2", getTenantV2,
        { tenant: true, fault: "tenant" }],
];

function apiVersion(ctx) {
    query(ctx.query, "websiteDomain", true);
    return { versions: CDI };
}

// PathRouter: a tenant segment is [a-z0-9-]+ in the decoded, lower-cased
// path and none of Utils.INVALID_WORDS_FOR_TENANTID; anything else matches
// no API (404).
const TENANT_STOP_WORDS = ["recipe", "config", "users", "hello"];

// "/appid-x/tenant/recipe/..." -> {path: "/recipe/...", tenant}; tenant
// null when the segment cannot be a tenant id.
function splitPath(pathname) {
    const app = /^\/appid-([^/]*)(?=\/|$)/.exec(pathname);
    let p = pathname.replace(/^\/appid-[^/]*(?=\/|$)/, "") || "/";
    let tenant = "public";
    const m = /^\/([^/]+)(\/recipe(?:\/.*)?)$/.exec(p);
    if (m && m[1] !== "recipe") {
        p = m[2];
        try {
            tenant = decodeURIComponent(m[1]).toLowerCase();
        } catch (e) {
            tenant = null;
        }
        if (tenant !== null && (!/^[a-z0-9-]+$/.test(tenant) ||
            TENANT_STOP_WORDS.includes(tenant))) {
            tenant = null;
        }
    }
    return { path: p, tenant, tenantGiven: !!m && m[1] !== "recipe",
        app: app ? app[1].toLowerCase() : "public" };
}

function send(res, status, body, headers = {}) {
    if (res.headersSent || res.destroyed) return;
    const text = typeof body === "string";
    const payload = (text ? body : JSON.stringify(body)) + "\n";
    res.writeHead(status, {
        "content-type": text ? "text/html; charset=UTF-8"
            : "application/json; charset=UTF-8",
        "content-length": Buffer.byteLength(payload),
        ...headers,
    });
    res.end(payload);
}

function takeFault(f) {
    if (!f || f.mode === "ok") return null;
    if (f.count !== null && f.count !== undefined) {
        if (f.count <= 0) return null;
        f.count -= 1;
    }
    return f;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function serveJwks(req, res) {
    const f = takeFault(state.faults.jwks);
    const doc = () => ({ keys: publishedKeys().map(jwk) });
    const cache = { "cache-control":
        `max-age=${jwksMaxAge()}, must-revalidate` };
    if (!f) return send(res, 200, doc(), cache);
    switch (f.mode) {
    case "down": req.socket.destroy(); return undefined;
    case "hang": return undefined; // never answers; client times out
    case "slow": await sleep(f.ms); return send(res, 200, doc(), cache);
    case "html":
        return send(res, 200, "<html><body><h1>502 Bad Gateway</h1>" +
            "</body></html>");
    case "500": return send(res, 500, "java.lang.RuntimeException: fault");
    case "404": return send(res, 404, "Not found");
    case "empty": return send(res, 200, { keys: [] }, cache);
    case "norsa": return send(res, 200, { keys: [ecJwk()] }, cache);
    case "notjson":
        res.writeHead(200, { "content-type":
            "application/json; charset=UTF-8" });
        return res.end("this is not json\n");
    case "dupkid": {
        const d = doc();
        const rogue = { ...jwk(base.rogue), kid: state.dynamic[0].kid };
        d.keys.unshift(rogue);
        return send(res, 200, d, cache);
    }
    case "truncated": {
        const full = JSON.stringify(doc());
        const half = full.slice(0, Math.floor(full.length / 2));
        res.writeHead(200, { "content-type":
            "application/json; charset=UTF-8",
        "content-length": Buffer.byteLength(half), ...cache });
        return res.end(half);
    }
    case "cut": {
        // Promises the full length, sends half, then drops the connection.
        const full = JSON.stringify(doc());
        res.writeHead(200, { "content-type":
            "application/json; charset=UTF-8",
        "content-length": Buffer.byteLength(full), ...cache });
        res.write(full.slice(0, Math.floor(full.length / 2)));
        setTimeout(() => req.socket.destroy(), 20);
        return undefined;
    }
    case "huge": return streamHuge(res, f.bytes, doc(), cache);
    default: return send(res, 200, doc(), cache);
    }
}

// A syntactically valid JWKS of f.bytes bytes: the real keys followed by a
// long padding member, streamed (chunked) with back-pressure.
function streamHuge(res, total, doc, cache) {
    res.writeHead(200, { "content-type": "application/json; charset=UTF-8",
        ...cache });
    const head = JSON.stringify(doc).slice(0, -1) + ',"pad":"';
    const chunk = Buffer.alloc(64 * 1024, "A");
    let left = Math.max(total - head.length - 3, 0);
    res.write(head);
    const pump = () => {
        while (left > 0) {
            const n = Math.min(left, chunk.length);
            left -= n;
            if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
                res.once("drain", pump);
                return;
            }
        }
        res.end('"}\n');
    };
    res.on("close", () => { left = 0; });
    pump();
}

async function applyApiFault(group, req, res) {
    const f = takeFault(state.faults.api[group] || state.faults.api.all);
    if (!f) return false;
    switch (f.mode) {
    case "500":
        send(res, 500, "java.lang.RuntimeException: injected fault");
        return true;
    case "404": send(res, 404, "Not found"); return true;
    // what a rate-limited (managed) core answers
    case "429": send(res, 429, "Too many requests"); return true;
    case "garbage":
        res.writeHead(200, { "content-type":
            "application/json; charset=UTF-8" });
        res.end("{\"status\":\"OK\",\"sess");
        return true;
    // 200s that are no core answer: a connection URI that reaches some
    // other web server (an HTML page), or JSON of another shape
    case "html":
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        res.end("<!DOCTYPE html><html><body>It works</body></html>\n");
        return true;
    case "json-array": case "json-null": case "json-nostatus":
        res.writeHead(200, { "content-type":
            "application/json; charset=UTF-8" });
        res.end({ "json-array": "[]", "json-null": "null",
            "json-nostatus": "{}" }[f.mode]);
        return true;
    case "down": req.socket.destroy(); return true;
    case "hang": return true;
    case "slow": await sleep(f.ms); return false;
    default: return false;
    }
}

function logEntry(req, u, raw, body) {
    const pick = ["cdi-version", "api-key", "rid", "content-type"];
    const headers = {};
    for (const h of pick) if (req.headers[h] !== undefined) {
        headers[h] = req.headers[h];
    }
    const e = { seq: seq++, t: Date.now(), method: req.method,
        path: u.pathname, query: u.search, headers,
        port: req.socket.localPort };
    if (raw) e.body = body !== undefined ? body : raw.slice(0, 2000);
    log.push(e);
    if (log.length > LOG_MAX) log.splice(0, log.length - LOG_MAX);
    const k = req.method + " " + splitPath(u.pathname).path;
    counters[k] = (counters[k] || 0) + 1;
    if (env.CORE_QUIET !== "1") {
        process.stdout.write(`${e.seq} ${e.method} ${e.path}${e.query}\n`);
    }
}

function checkApiKey(req) {
    const keys = state.config.apiKeys;
    if (keys.length === 0) return true;
    let k = req.headers["api-key"];
    if (k === undefined && req.headers.authorization !== undefined) {
        const a = req.headers.authorization;
        k = a.toLowerCase().startsWith("bearer ") ? a.slice(7).trim()
            : a.trim();
    }
    return k !== undefined && keys.includes(k);
}

function cdiOf(req) {
    const v = req.headers["cdi-version"];
    if (v === undefined) return MAX_CDI;
    if (Number.isNaN(semver(v))) throw badRequest("cdi-version header is " +
        "invalid");
    if (semver(v) > semver(MAX_CDI)) {
        throw badRequest("cdi-version " + v + " not supported");
    }
    return v;
}

async function handle(req, res, raw) {
    // not new URL(req.url, base): "//recipe/x" would read as a host
    const u = new URL("http://" + HOST + req.url);
    if (u.pathname.startsWith("/__standin/")) {
        let body = {};
        if (raw) {
            try {
                body = JSON.parse(raw);
            } catch (e) {
                return send(res, 400, "Invalid Json Input");
            }
        }
        return send(res, 200, await control(req.method, u.pathname,
            u.searchParams, body || {}));
    }
    let body;
    let bodyOk = true;
    if (raw) {
        try {
            body = JSON.parse(raw);
        } catch (e) {
            bodyOk = false;
        }
    }
    logEntry(req, u, raw, body);
    if (applyListenerFault(req, res)) return undefined;
    // Tomcat (CoyoteAdapter.normalize) collapses adjacent slashes
    const pathname = u.pathname.replace(/\/{2,}/g, "/");
    // NotFoundOrHelloAPI also answers a tenant's root: "/t1" is Hello when
    // the core knows t1, else 404
    const root = /^\/([^/]+)\/?$/.exec(pathname);
    if (root && req.method === "GET" &&
        !ROUTES.some((r) => r[1] === pathname)) {
        const t = splitPath("/" + root[1] + "/recipe").tenant;
        return t !== null && state.tenants.includes(t)
            ? send(res, 200, "Hello") : send(res, 404, "Not found");
    }
    const sp = splitPath(pathname);
    const route = ROUTES.find((r) => r[1] === sp.path);
    if (!route || (sp.tenantGiven && (!route[3].tenant ||
        sp.tenant === null))) {
        return send(res, 404, "Not found");
    }
    if (route[0] !== req.method) {
        const other = ROUTES.find((r) => r[1] === sp.path &&
            r[0] === req.method);
        if (!other) return send(res, 405, "Method not supported");
        return dispatch(req, res, other, sp, u, body, bodyOk, raw);
    }
    return dispatch(req, res, route, sp, u, body, bodyOk, raw);
}

async function dispatch(req, res, route, sp, u, body, bodyOk, raw) {
    const opts = route[3];
    if (sp.path === "/.well-known/jwks.json") return serveJwks(req, res);
    if (opts.key !== false && !checkApiKey(req)) {
        return send(res, 401, "Invalid API key");
    }
    const cdi = cdiOf(req);
    if (opts.fault && await applyApiFault(opts.fault, req, res)) {
        return undefined;
    }
    if (req.method !== "GET") {
        if (!raw || !bodyOk || body === null || typeof body !== "object" ||
            Array.isArray(body)) {
            return send(res, 400, "Invalid Json Input");
        }
    }
    const ctx = { req, body: body || {}, query: u.searchParams, cdi,
        tenant: sp.tenant, app: sp.app };
    try {
        const out = route[2](ctx);
        return send(res, 200, out);
    } catch (e) {
        if (e instanceof J.CoreError) {
            if (e.kind === "server") return send(res, 500, e.message);
            return send(res, 200, { status: e.kind === "try_refresh"
                ? "TRY_REFRESH_TOKEN" : "UNAUTHORISED", message: e.message });
        }
        if (e.badRequest) return send(res, 400, e.message);
        throw e;
    }
}

const server = http.createServer((req, res) => {
    const chunks = [];
    let size = 0;
    req.on("data", (c) => {
        size += c.length;
        if (size > BODY_MAX) {
            send(res, 413, "Request too large");
            req.destroy();
            return;
        }
        chunks.push(c);
    });
    req.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        Promise.resolve().then(() => handle(req, res, raw)).catch((e) => {
            if (e instanceof HttpError) return send(res, e.status, e.message);
            process.stderr.write("core stand-in: " + (e.stack || e) + "\n");
            return send(res, 500, String(e));
        });
    });
});
server.keepAliveTimeout = 5000;
server.listen(PORT, HOST, () => {
    process.stderr.write(`core stand-in on http://${HOST}:${PORT} ` +
        `state=${DIR} dynamic=${base.dynamic.kid} static=${base.static.kid}\n`);
});
// More cores on the same database: the same handler (and state) on other
// ports.
const extraServers = (env.CORE_EXTRA_PORTS || "").split(",")
    .map((s) => s.trim()).filter(Boolean).map((p) => {
        const srv = http.createServer(server.listeners("request")[0]);
        srv.keepAliveTimeout = 5000;
        srv.listen(Number(p), HOST);
        return srv;
    });
for (const sig of ["SIGTERM", "SIGINT"]) {
    process.on(sig, () => {
        server.close();
        for (const srv of extraServers) srv.close();
        process.exit(0);
    });
}
