"use strict";
// The configurations every case runs in. env = the ST_* variables given to
// BOTH the SDK app and the gateway (contract in /work/team/CONTEXT.md).
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
];
