#!/usr/bin/env node
"use strict";
// The reference side of the differential suite: the real supertokens-node
// (Session recipe, express) configured by the SAME ST_* variables as the
// gateway (see /work/team/CONTEXT.md), serving the same routes.
//
// Routes (every method): /verify, /api/user (verifySession()),
// /verify-optional (sessionRequired:false), /verify-checkdb
// (checkDatabase:true), /verify-nocsrf (antiCsrfCheck:false),
// /verify-noclaims (overrideGlobalClaimValidators: () => []); with ST_CLAIMS
// also /verify-admin (the globals + st-role includes admin, st-perm
// excludes delete).
// Each answers the seed JSON {note, userId, sessionHandle,
// userDataInAccessToken}. ST_TEST_LOGIN=1 adds POST /test/login
// {"userId","payload"} (Session.createNewSession) for the browser test;
// STATIC_DIR serves files. Listens on 127.0.0.1:$PORT (3001).
// ST_CLAIMS (the gateway's `claims` specs as a JSON list; st-role and
// st-perm only) adds UserRoles and those validators to the global ones
// (after EmailVerification's), as an app does with
// override.functions.getGlobalClaimValidators.
// An ST_CLAIMS element {"claim":"st-mfa","check":"mfa_completed"} (first in
// the list, no id: the gateway's order EV, then ST_CLAIMS) inits
// MultiFactorAuth instead, which adds hasCompletedMFARequirementsForAuth()
// to the global validators itself (post-init, after EmailVerification's).
// SDK_APP_REFRESH_PASSES=1 (the conformance runner) adds a route for every
// path with a /session/ segment (verifySession()), and stops the SDK's
// refresh where it would call the core: refreshSessionInRequest (which
// verifySession() runs for a POST on refreshTokenPath, and the refresh API
// too) then answers 200 with the seed of no session, as the gateway
// answers a request it passes unverified to the backend's refresh API.
const express = require("express");
const cors = require("cors");
const supertokens = require("supertokens-node");
const Session = require("supertokens-node/recipe/session");
const EmailVerification = require("supertokens-node/recipe/emailverification");
const UserRoles = require("supertokens-node/recipe/userroles");
const MultiFactorAuth = require("supertokens-node/recipe/multifactorauth");
const { verifySession } =
    require("supertokens-node/recipe/session/framework/express");
const { middleware, errorHandler } =
    require("supertokens-node/framework/express");

const env = process.env;
const has = (k) => Object.prototype.hasOwnProperty.call(env, k) &&
    (env[k] !== "" || k === "ST_OLDER_COOKIE_DOMAIN");
const bool = (k) => {
    const v = String(env[k]).trim().toLowerCase();
    if (v === "true" || v === "1" || v === "on") return true;
    if (v === "false" || v === "0" || v === "off") return false;
    throw new Error(`${k}: not a boolean: ${env[k]}`);
};

const PORT = Number(env.PORT || 3001);
const HOST = env.HOST || "127.0.0.1";
const WEBSITE_DOMAIN = env.ST_WEBSITE_DOMAIN || "http://localhost:3000";

const session = {};
if (has("ST_ANTI_CSRF")) session.antiCsrf = env.ST_ANTI_CSRF;
if (has("ST_TOKEN_TRANSFER_METHOD")) {
    const m = env.ST_TOKEN_TRANSFER_METHOD;
    session.getTokenTransferMethod = () => m;
}
if (has("ST_SESSION_EXPIRED_STATUS_CODE")) {
    session.sessionExpiredStatusCode =
        Number(env.ST_SESSION_EXPIRED_STATUS_CODE);
}
if (has("ST_INVALID_CLAIM_STATUS_CODE")) {
    session.invalidClaimStatusCode = Number(env.ST_INVALID_CLAIM_STATUS_CODE);
}
if (has("ST_USE_DYNAMIC_ACCESS_TOKEN_SIGNING_KEY")) {
    session.useDynamicAccessTokenSigningKey =
        bool("ST_USE_DYNAMIC_ACCESS_TOKEN_SIGNING_KEY");
}
if (has("ST_COOKIE_DOMAIN")) session.cookieDomain = env.ST_COOKIE_DOMAIN;
if (has("ST_OLDER_COOKIE_DOMAIN")) {
    session.olderCookieDomain = env.ST_OLDER_COOKIE_DOMAIN;
}
if (has("ST_COOKIE_SAME_SITE")) session.cookieSameSite = env.ST_COOKIE_SAME_SITE;
if (has("ST_COOKIE_SECURE")) session.cookieSecure = bool("ST_COOKIE_SECURE");
if (has("ST_ACCESS_TOKEN_PATH")) {
    session.accessTokenPath = env.ST_ACCESS_TOKEN_PATH;
}
if (has("ST_EXPOSE_ACCESS_TOKEN_TO_FRONTEND_IN_COOKIE_BASED_AUTH")) {
    session.exposeAccessTokenToFrontendInCookieBasedAuth =
        bool("ST_EXPOSE_ACCESS_TOKEN_TO_FRONTEND_IN_COOKIE_BASED_AUTH");
}
if (has("ST_JWKS_REFRESH_INTERVAL_SEC")) {
    session.jwksRefreshIntervalSec = Number(env.ST_JWKS_REFRESH_INTERVAL_SEC);
}

// README "Claim validators": check -> PrimitiveArrayClaim validator
const ARRAY_CHECKS = { includes: "includes", excludes: "excludes",
    includes_all: "includesAll", excludes_all: "excludesAll",
    includes_any: "includesAny" };
const CLAIMS = { "st-role": UserRoles.UserRoleClaim,
    "st-perm": UserRoles.PermissionClaim };
function isMfa(v) {
    return v && v.claim === "st-mfa";
}
function claimValidators(specs) {
    if (!Array.isArray(specs)) throw new Error("ST_CLAIMS: not a list");
    specs.forEach((v, i) => {
        if (isMfa(v) && (i !== 0 || v.check !== "mfa_completed" ||
            v.id !== undefined || v.value !== undefined ||
            v.max_age !== undefined)) {
            throw new Error(`ST_CLAIMS[${i}]: sdk-app knows st-mfa only as ` +
                "the first element, check mfa_completed, no id/value/max_age");
        }
    });
    return specs.filter((v) => !isMfa(v)).map((v, i) => {
        const claim = CLAIMS[v.claim];
        const check = ARRAY_CHECKS[v.check];
        if (!claim || !check) {
            throw new Error(`ST_CLAIMS[${i}]: sdk-app knows st-role and ` +
                "st-perm with includes, excludes, includes_all, " +
                "excludes_all, includes_any");
        }
        return claim.validators[check](v.value, v.max_age, v.id);
    });
}
const claimSpecs = has("ST_CLAIMS") ? JSON.parse(env.ST_CLAIMS) : null;
const mfa = Array.isArray(claimSpecs) && claimSpecs.some(isMfa);
const roleValidators = claimSpecs ? claimValidators(claimSpecs) : [];
const extraValidators = roleValidators.length > 0 ? roleValidators : null;
const REFRESH_PASSES = env.SDK_APP_REFRESH_PASSES === "1";
const REFRESH_MARK = "sdk-app: the refresh branch";
if (extraValidators || REFRESH_PASSES) {
    session.override = { functions: (orig) => ({ ...orig,
        ...(extraValidators ? {
            getGlobalClaimValidators: async (input) => [
                ...input.claimValidatorsAddedByOtherRecipes,
                ...extraValidators] } : {}),
        ...(REFRESH_PASSES ? {
            refreshSession: async () => {
                throw new Error(REFRESH_MARK);
            } } : {}) }) };
}

const recipeList = [Session.init(session)];
if (has("ST_EMAIL_VERIFICATION")) {
    recipeList.push(EmailVerification.init({
        mode: env.ST_EMAIL_VERIFICATION.toUpperCase() }));
}
if (extraValidators) recipeList.push(UserRoles.init());
if (mfa) recipeList.push(MultiFactorAuth.init());

const connectionURI = env.ST_CONNECTION_URI || "http://127.0.0.1:3567";
supertokens.init({
    framework: "express",
    telemetry: false,
    supertokens: has("ST_API_KEY")
        ? { connectionURI, apiKey: env.ST_API_KEY } : { connectionURI },
    appInfo: {
        appName: "conformance",
        apiDomain: env.ST_API_DOMAIN || "http://localhost:3001",
        websiteDomain: WEBSITE_DOMAIN,
        apiBasePath: env.ST_API_BASE_PATH || "/auth",
        ...(has("ST_API_GATEWAY_PATH")
            ? { apiGatewayPath: env.ST_API_GATEWAY_PATH } : {}),
        websiteBasePath: "/auth",
    },
    recipeList,
});

const app = express();
app.set("etag", false);
app.set("x-powered-by", false);
app.use(cors({
    origin: WEBSITE_DOMAIN,
    allowedHeaders: ["content-type", ...supertokens.getAllCORSHeaders()],
    credentials: true,
}));
// spec/conformance/gateway's `location ~* /session/` (ST_SESSION_ROUTE=1):
// before middleware(), so that verifySession() alone decides, as the
// gateway does, and the SDK's refresh API does not answer first.
if (REFRESH_PASSES) app.all(/\/session\//i, verifySession(), seed);
app.use(middleware());

const NOTE = "Fetch any data from your application for authenticated user " +
    "after using verifySession middleware";
// With no session (sessionRequired:false, OPTIONS/TRACE) the three session
// fields are undefined and JSON.stringify leaves them out.
function seed(req, res) {
    res.json({
        note: NOTE,
        userId: req.session?.getUserId(),
        sessionHandle: req.session?.getHandle(),
        userDataInAccessToken: req.session?.getAccessTokenPayload(),
    });
}

const routes = {
    "/api/user": {},
    "/verify": {},
    "/verify-optional": { sessionRequired: false },
    "/verify-checkdb": { checkDatabase: true },
    "/verify-nocsrf": { antiCsrfCheck: false },
    "/verify-noclaims": { overrideGlobalClaimValidators: () => [] },
};
// With UserRoles (ST_CLAIMS): a route that adds validators to the globals,
// as an app guards its admin routes; the gateway's route "admin"
// (add_claims) in examples/openresty/nginx.conf.
if (extraValidators) {
    routes["/verify-admin"] = { overrideGlobalClaimValidators: (g) => [...g,
        UserRoles.UserRoleClaim.validators.includes("admin", undefined,
            "route-admin"),
        UserRoles.PermissionClaim.validators.excludes("delete")] };
}
for (const [path, opts] of Object.entries(routes)) {
    app.all(path, verifySession(opts), seed);
}

if (env.ST_TEST_LOGIN === "1") {
    app.post("/test/login", express.json(), async (req, res, next) => {
        try {
            const userId = (req.body && req.body.userId) || "user-1";
            await Session.createNewSession(req, res, "public",
                supertokens.convertToRecipeUserId(userId),
                (req.body && req.body.payload) || {});
            res.json({ status: "OK", userId });
        } catch (e) {
            next(e);
        }
    });
}
if (env.STATIC_DIR) app.use(express.static(env.STATIC_DIR));

app.use(errorHandler());
// Anything the SDK does not turn into a session error (core unreachable,
// garbage from the core, unknown user during a claim refetch) lands here.
// What an app answers is the app's choice; ours matches the gateway's.
// eslint-disable-next-line no-unused-vars
app.use((err, req, res, next) => {
    if (REFRESH_PASSES && err && err.message === REFRESH_MARK) {
        seed(req, res);
        return;
    }
    if (env.SDK_APP_LOG_ERRORS === "1") {
        process.stderr.write(`sdk-app: ${req.method} ${req.url}: ${err}\n`);
    }
    res.status(500).json({ message: "internal error" });
});

// The Querier's first core call also fetches /apiversion
// through the same round robin (sendRequestHelper inside the call's own
// request function), which takes a host slot, and with the first core
// unreachable makes that first call fail ("No SuperTokens core available
// to query": the retry lands on the same dead host), and a core that
// refuses the api key fails it before the call is sent. The gateway has no
// /apiversion call (cdi-version 5.4 fixed), so the app fetches it before
// it listens and puts the process-wide index back on the first host: both
// sides then start the cases at the first core (README `cdi-apiversion-
// slot`).
async function primeCdiVersion() {
    const { Querier } = require("supertokens-node/lib/build/querier");
    const ST = require("supertokens-node/lib/build/supertokens").default;
    const q = Querier.getNewInstanceOrThrowError(
        ST.getInstanceOrThrowError(), undefined);
    // a core answering an HTTP error throws without trying the next one:
    // once per core, until one answers
    for (let i = 0; i < connectionURI.split(";").length; i++) {
        try {
            await q.getAPIVersion({});
            break;
        } catch (e) {
            process.stderr.write(`sdk-app: /apiversion: ${e.message}\n`);
        }
    }
    Querier.lastTriedIndex = 0;
}

let server;
primeCdiVersion().finally(() => {
    server = app.listen(PORT, HOST, () => {
        process.stderr.write(`sdk-app on http://${HOST}:${PORT}\n`);
    });
    server.keepAliveTimeout = 5000;
});
for (const sig of ["SIGTERM", "SIGINT"]) {
    process.on(sig, () => process.exit(0));
}
