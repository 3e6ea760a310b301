"use strict";
// The configurations every case runs in. env = the ST_* variables given to
// BOTH the SDK app and the gateway (contract in /work/team/CONTEXT.md).
// the api key of the configurations that have one (a test value)
const API_KEY = "st-conformance-api-key-2f9c4e1a7b";
const base = {
    ST_API_DOMAIN: "http://localhost:3001",
    ST_WEBSITE_DOMAIN: "http://localhost:3000",
    ST_API_BASE_PATH: "/auth",
};

module.exports = [
    { name: "default", env: { ...base } },
    { name: "viaToken", env: { ...base, ST_ANTI_CSRF: "VIA_TOKEN" } },
    // Different sites over https: SameSite=None, Secure, and the SDK's
    // default anti-CSRF mode becomes VIA_CUSTOM_HEADER.
    { name: "crossSite", env: { ...base,
        ST_API_DOMAIN: "https://api.example.com",
        ST_WEBSITE_DOMAIN: "https://example.org" } },
    { name: "emailVerification", env: { ...base,
        ST_EMAIL_VERIFICATION: "REQUIRED" } },
    { name: "customCodes", env: { ...base,
        ST_SESSION_EXPIRED_STATUS_CODE: "440",
        ST_INVALID_CLAIM_STATUS_CODE: "499",
        ST_COOKIE_DOMAIN: ".example.com", ST_OLDER_COOKIE_DOMAIN: "",
        ST_EMAIL_VERIFICATION: "REQUIRED" } },
    { name: "staticKeys", env: { ...base,
        ST_USE_DYNAMIC_ACCESS_TOKEN_SIGNING_KEY: "false" } },
    { name: "headerOnly", env: { ...base, ST_TOKEN_TRANSFER_METHOD: "header" } },
    { name: "cookieOnly", env: { ...base, ST_TOKEN_TRANSFER_METHOD: "cookie" } },
    // Extra configurations (run only when CONFORMANCE_CONFIGS names them):
    // normalisation of domains, paths and cookie attributes, and the
    // default SameSite / anti-CSRF choice across sites and protocols.
    { name: "xRootPath", extra: true, env: { ...base,
        ST_API_BASE_PATH: "/", ST_API_DOMAIN: "http://LOCALHOST:3001/",
        ST_COOKIE_SAME_SITE: " Strict ", ST_EMAIL_VERIFICATION: "REQUIRED" } },
    { name: "xDeepPath", extra: true, env: { ...base,
        ST_API_BASE_PATH: "/api/v1/auth/", ST_COOKIE_SECURE: "true",
        ST_ANTI_CSRF: "VIA_CUSTOM_HEADER",
        ST_EMAIL_VERIFICATION: "REQUIRED" } },
    { name: "xCookieDomainUrl", extra: true, env: { ...base,
        ST_COOKIE_DOMAIN: "https://Sub.Example.com:8080/x",
        ST_OLDER_COOKIE_DOMAIN: ".Example.COM",
        ST_EMAIL_VERIFICATION: "REQUIRED" } },
    // github.io is a public suffix (PSL private section): two sites
    { name: "xGithubIo", extra: true, csrf: "VIA_CUSTOM_HEADER",
        env: { ...base,
        ST_API_DOMAIN: "https://api.github.io",
        ST_WEBSITE_DOMAIN: "https://web.github.io",
        ST_EMAIL_VERIFICATION: "REQUIRED" } },
    // http website, https API: SameSite none
    { name: "xProtocolMismatch", extra: true, csrf: "VIA_CUSTOM_HEADER",
        env: { ...base,
        ST_API_DOMAIN: "https://api.example.com",
        ST_WEBSITE_DOMAIN: "http://example.com",
        ST_EMAIL_VERIFICATION: "REQUIRED" } },
    // localhost and IP addresses are one site to the SDK ("localhost")
    { name: "xIpVsLocalhost", extra: true, env: { ...base,
        ST_API_DOMAIN: "http://localhost:3001",
        ST_WEBSITE_DOMAIN: "http://127.0.0.1:3000",
        ST_EMAIL_VERIFICATION: "REQUIRED" } },
    { name: "xOptionalEV", extra: true, env: { ...base,
        ST_EMAIL_VERIFICATION: "OPTIONAL", ST_COOKIE_DOMAIN: "localhost" } },
    { name: "xCrossSiteNone", extra: true, env: { ...base,
        ST_API_DOMAIN: "https://api.example.com",
        ST_WEBSITE_DOMAIN: "https://example.org", ST_ANTI_CSRF: "NONE",
        ST_COOKIE_SAME_SITE: "lax", ST_OLDER_COOKIE_DOMAIN: "" } },
    // UserRoles: role / permission validators on every route but
    // /verify-noclaims (ST_CLAIMS), refetched through the core's roles APIs
    { name: "roles", env: { ...base,
        ST_CLAIMS: JSON.stringify([
            { claim: "st-role", check: "includes", value: "admin" },
            { claim: "st-perm", check: "includes", value: "write" },
            { claim: "st-role", check: "excludes", value: "banned",
                id: "not-banned" }]) } },
    // max ages (a refetch when the claim is older), the list checks, after
    // EmailVerification's validator
    { name: "rolesMaxAge", env: { ...base,
        ST_EMAIL_VERIFICATION: "REQUIRED",
        ST_CLAIMS: JSON.stringify([
            { claim: "st-perm", check: "includes_all",
                value: ["read", "write"], max_age: 300 },
            { claim: "st-role", check: "includes_any",
                value: ["admin", "editor"], max_age: 60, id: "role-any" },
            { claim: "st-perm", check: "excludes_all",
                value: ["delete", "root"], id: "perm-safe" }]) } },
    // MultiFactorAuth: node's MultiFactorAuth.init() adds
    // hasCompletedMFARequirementsForAuth() to the global validators, after
    // EmailVerification's (ST_CLAIMS st-mfa mfa_completed; cases/mfa.js)
    { name: "mfa", env: { ...base,
        ST_EMAIL_VERIFICATION: "REQUIRED",
        ST_CLAIMS: JSON.stringify([
            { claim: "st-mfa", check: "mfa_completed" }]) } },
    // exposeAccessTokenToFrontendInCookieBasedAuth: st-access-token (and
    // its Access-Control-Expose-Headers entry) also on cookie-mode relays
    { name: "xExposeToken", extra: true, env: { ...base,
        ST_EXPOSE_ACCESS_TOKEN_TO_FRONTEND_IN_COOKIE_BASED_AUTH: "true",
        ST_EMAIL_VERIFICATION: "REQUIRED" } },
    { name: "xExposeCookieOnly", extra: true, env: { ...base,
        ST_EXPOSE_ACCESS_TOKEN_TO_FRONTEND_IN_COOKIE_BASED_AUTH: "true",
        ST_TOKEN_TRANSFER_METHOD: "cookie", ST_ANTI_CSRF: "VIA_TOKEN" } },
    // accessTokenPath: the sAccessToken cookie's Path (relays, clearing);
    // NormalisedURLPath: "api/" -> /api, "/" -> "" -> Path=/, a domain
    // given with a path keeps only the path
    { name: "xAccessTokenPath", extra: true, env: { ...base,
        ST_ACCESS_TOKEN_PATH: " api/ ", ST_EMAIL_VERIFICATION: "REQUIRED" } },
    { name: "xAccessTokenPathRoot", extra: true, env: { ...base,
        ST_ACCESS_TOKEN_PATH: "/", ST_API_BASE_PATH: "/" } },
    { name: "xAccessTokenPathDeep", extra: true, env: { ...base,
        ST_ACCESS_TOKEN_PATH: "/a/b/", ST_COOKIE_DOMAIN: ".example.com",
        ST_OLDER_COOKIE_DOMAIN: "" } },
    { name: "xAccessTokenPathDomain", extra: true, env: { ...base,
        ST_ACCESS_TOKEN_PATH: "api.example.com/tok/./x/../" } },
    // apiGatewayPath: the refresh path (and the sRefreshToken cookie Path)
    // is <gateway><base>/session/refresh
    { name: "xGatewayPath", extra: true, env: { ...base,
        ST_API_GATEWAY_PATH: "/gw", ST_EMAIL_VERIFICATION: "REQUIRED" } },
    // all three in one, part of every run (cheap: the hand-written cases
    // reach relays, clearing and the refresh path here)
    { name: "gatewayExpose", env: { ...base,
        ST_API_GATEWAY_PATH: "gw/v1/", ST_API_BASE_PATH: "/",
        ST_ACCESS_TOKEN_PATH: "/gw",
        ST_EXPOSE_ACCESS_TOKEN_TO_FRONTEND_IN_COOKIE_BASED_AUTH: "true" } },
    // The core connection. apiKey (part of every run): supertokens.apiKey
    // / api_key on both sides, and the stand-in enforces it (401 "Invalid
    // API key" without it, as the core with api_keys set); every core call
    // is compared with its api-key header (cases/connection.js: a core
    // with other keys).
    { name: "apiKey", env: { ...base, ST_EMAIL_VERIFICATION: "REQUIRED",
        ST_API_KEY: API_KEY },
    coreSetup: (core) => core.config({ api_keys: API_KEY }) },
    // Several cores in connectionURI (run.js: "main" = the stand-in,
    // "second" = a second listener on the same state, "dead" = a port
    // nothing listens on). Each core call is compared with the core it
    // went to: node's Querier takes the hosts round robin from one
    // process-wide index, the gateway from one in its shared dict for all
    // workers (two here; run.js sends each request on a new connection).
    { name: "xCoresTwo", extra: true, cores: ["main", "second"],
        env: { ...base, ST_EMAIL_VERIFICATION: "REQUIRED",
            ST_API_KEY: API_KEY },
        coreSetup: (core) => core.config({ api_keys: API_KEY }) },
    { name: "xCoresDeadFirst", extra: true, cores: ["dead", "main"],
        env: { ...base, ST_EMAIL_VERIFICATION: "REQUIRED" } },
    // the first core answers every call (JWKS too) with a 500, the second
    // is fine: node does not go on after an HTTP error, so a call that the
    // round robin gives to the first core fails
    { name: "xCoresFailingFirst", extra: true, cores: ["second", "main"],
        noExp: true, noGen: true,
        env: { ...base, ST_EMAIL_VERIFICATION: "REQUIRED" },
        coreSetup: (core, ports) => core.listener(ports.second, "500") },
    { name: "xSubdomains", extra: true, env: { ...base,
        ST_API_DOMAIN: "https://api.app.example.co.uk",
        ST_WEBSITE_DOMAIN: "https://www.example.co.uk",
        ST_COOKIE_DOMAIN: ".example.co.uk", ST_EMAIL_VERIFICATION: "REQUIRED",
        ST_TOKEN_TRANSFER_METHOD: "any" } },
];
