"use strict";
// Methods, routes and CORS (spec §6.1, §7, §12 lines 1 and 15).
const { via, bearer, cookie, at } = require("./_dsl");

const cases = [];
const add = (name, o) => cases.push({ name: "http: " + name, ...o });
const ACRH = "authorization,rid,content-type,anti-csrf,st-auth-mode," +
    "fdi-version";

add("OPTIONS preflight, allowed origin", { method: "OPTIONS",
    headers: (c) => [["Origin", c.origin],
        ["Access-Control-Request-Method", "POST"],
        ["Access-Control-Request-Headers", ACRH]] });
add("OPTIONS preflight, foreign origin", { method: "OPTIONS",
    headers: () => [["Origin", "http://evil.example"],
        ["Access-Control-Request-Method", "GET"]] });
add("OPTIONS without Origin", { method: "OPTIONS", headers: () => [] });
add("OPTIONS with an expired token", { method: "OPTIONS",
    headers: (c) => [bearer(c.T({ expIn: -10 })), ["Origin", c.origin],
        ["Access-Control-Request-Method", "DELETE"]] });
add("OPTIONS with sIdRefreshToken", { method: "OPTIONS",
    headers: () => [cookie("sIdRefreshToken=1")] });
add("OPTIONS on the optional route", { method: "OPTIONS",
    route: "/verify-optional", headers: (c) => [["Origin", c.origin]] });
add("TRACE without token", { method: "TRACE", headers: () => [],
    exp: "none" });
add("TRACE with expired token", { method: "TRACE",
    headers: (c) => [bearer(c.T({ expIn: -10 }))], exp: "none" });
add("GET valid, allowed Origin", {
    headers: (c) => [bearer(c.T()), ["Origin", c.origin]],
    exp: (c) => via(c, "header", "ok") });
add("GET valid, foreign Origin", {
    headers: (c) => [bearer(c.T()), ["Origin", "http://evil.example"]],
    exp: (c) => via(c, "header", "ok") });
add("GET valid, Origin null", {
    headers: (c) => [bearer(c.T()), ["Origin", "null"]],
    exp: (c) => via(c, "header", "ok") });
add("GET expired, allowed Origin (CORS on 401)", {
    headers: (c) => [bearer(c.T({ expIn: -10 })), ["Origin", c.origin]],
    exp: (c) => via(c, "header", "refresh") });
add("GET no token, allowed Origin", {
    headers: (c) => [["Origin", c.origin]], exp: "unauth" });
add("GET revoked checkDatabase, allowed Origin (clearing + expose)", {
    route: "/verify-checkdb",
    headers: (c) => [cookie(at(c.T())), ["Origin", c.origin]],
    exp: (c) => via(c, "cookie", "clear") });
for (const m of ["POST", "PUT", "DELETE", "PATCH", "HEAD"]) {
    add(`${m} valid bearer`, { method: m, headers: (c) => [bearer(c.T())],
        exp: (c) => via(c, "header", "ok") });
    add(`${m} no token`, { method: m, headers: () => [], exp: "unauth" });
}
add("HEAD expired bearer", { method: "HEAD",
    headers: (c) => [bearer(c.T({ expIn: -10 }))],
    exp: (c) => via(c, "header", "refresh") });
add("GET with query string", { route: "/verify?x=1&y=%20",
    headers: (c) => [bearer(c.T())], exp: (c) => via(c, "header", "ok") });
add("POST JSON body, bearer", { method: "POST",
    headers: (c) => [bearer(c.T()), ["Content-Type", "application/json"]],
    body: JSON.stringify({ a: 1 }), exp: (c) => via(c, "header", "ok") });
add("GET valid bearer on /api/user with Origin", { route: "/api/user",
    headers: (c) => [bearer(c.T()), ["Origin", c.origin]],
    exp: (c) => via(c, "header", "ok") });
add("refresh path GET (not the refresh API)", {
    route: "/verify", headers: (c) => [bearer(c.T())],
    exp: (c) => via(c, "header", "ok") });
module.exports = cases;
