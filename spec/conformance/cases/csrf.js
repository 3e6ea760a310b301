"use strict";
// Anti-CSRF (spec §4, §12 line 7): cookie transport, non-GET methods,
// VIA_CUSTOM_HEADER (rid) and VIA_TOKEN (anti-csrf header vs claim). Runs
// in every configuration; the expected outcome follows the config's mode.
const { info, csrfCookie, bearer, cookie, at } = require("./_dsl");

const AC = "acsrf-123";
const cases = [];

function add(name, o) {
    cases.push({ name: "csrf: " + name, ...o });
}

for (const method of ["POST", "PUT", "DELETE", "PATCH", "HEAD"]) {
    add(`${method} cookie, no rid, no anti-csrf`, {
        method,
        headers: (c) => [cookie(at(c.T({ antiCsrfToken: AC })))],
        exp: (c) => csrfCookie(c, { method, acClaim: AC }),
    });
}
add("GET cookie, no rid (GET is exempt)", {
    headers: (c) => [cookie(at(c.T({ antiCsrfToken: AC })))],
    exp: (c) => csrfCookie(c, { method: "GET", acClaim: AC }),
});
add("POST cookie, rid: session", {
    method: "POST",
    headers: (c) => [cookie(at(c.T())), ["rid", "session"]],
    exp: (c) => csrfCookie(c, { rid: "session" }),
});
add("POST cookie, rid: anti-csrf (what the frontend sends)", {
    method: "POST",
    headers: (c) => [cookie(at(c.T())), ["rid", "anti-csrf"]],
    exp: (c) => csrfCookie(c, { rid: "anti-csrf" }),
});
add("POST cookie, rid: anything", {
    method: "POST",
    headers: (c) => [cookie(at(c.T())), ["rid", "whatever"]],
    exp: (c) => csrfCookie(c, { rid: "whatever" }),
});
add("POST cookie, rid empty", {
    method: "POST",
    headers: (c) => [cookie(at(c.T())), ["rid", ""]],
});
add("POST header transport, no rid (never CSRF-checked)", {
    method: "POST",
    headers: (c) => [bearer(c.T())],
    exp: (c) => (info(c.cfg).transfer === "cookie" ? "unauth" : "ok"),
});
add("POST header + cookie, no rid (header chosen)", {
    method: "POST",
    headers: (c) => [bearer(c.T()), cookie(at(c.T()))],
});
add("POST no token, no rid", { method: "POST", headers: () => [],
    exp: "unauth" });
add("POST garbage cookie, no rid", { method: "POST",
    headers: () => [cookie("sAccessToken=garbage")], exp: "unauth" });
add("POST expired cookie, no rid", { method: "POST",
    headers: (c) => [cookie(at(c.T({ expIn: -10 })))],
    exp: (c) => (info(c.cfg).transfer === "header" ? "unauth" : "refresh") });
add("POST expired cookie, rid + matching anti-csrf", { method: "POST",
    headers: (c) => [cookie(at(c.T({ expIn: -10, antiCsrfToken: AC }))),
        ["rid", "session"], ["anti-csrf", AC]],
    exp: (c) => (info(c.cfg).transfer === "header" ? "unauth" : "refresh") });
add("POST cookie + sIdRefreshToken, no rid", { method: "POST",
    headers: (c) => [cookie(`${at(c.T())}; sIdRefreshToken=1`)],
    exp: "refresh" });
add("POST duplicate cookies, rid", { method: "POST",
    headers: (c) => [cookie(`${at(c.T())}; ${at(c.T())}`), ["rid", "x"]],
    exp: (c) => (info(c.cfg).transfer === "header" ? "unauth" : "refresh") });
add("POST /verify-nocsrf cookie, no rid, no anti-csrf", {
    method: "POST", route: "/verify-nocsrf",
    headers: (c) => [cookie(at(c.T()))],
    exp: (c) => (info(c.cfg).transfer === "header" ? "unauth" : "ok") });
add("POST /verify-optional cookie, no rid", {
    method: "POST", route: "/verify-optional",
    headers: (c) => [cookie(at(c.T({ antiCsrfToken: AC })))],
    exp: (c) => {
        const o = csrfCookie(c, { acClaim: AC });
        return o === "unauth" ? "none" : o;
    } });
add("POST /verify-optional no token, no rid", {
    method: "POST", route: "/verify-optional", headers: () => [],
    exp: "none" });
// VIA_TOKEN specifics (every config runs them; only viaToken checks).
add("POST cookie, anti-csrf header matches claim", {
    method: "POST",
    headers: (c) => [cookie(at(c.T({ antiCsrfToken: AC }))),
        ["anti-csrf", AC]],
    exp: (c) => csrfCookie(c, { acClaim: AC, acHeader: AC }),
});
add("POST cookie, anti-csrf header mismatch", {
    method: "POST",
    headers: (c) => [cookie(at(c.T({ antiCsrfToken: AC }))),
        ["anti-csrf", "nope"]],
    exp: (c) => csrfCookie(c, { acClaim: AC, acHeader: "nope" }),
});
// Spaces and tabs around a header value are not part of it (HTTP's OWS):
// node's parser drops both, nginx only the spaces.
add("POST cookie, anti-csrf header with tabs around (OWS)", {
    method: "POST",
    headers: (c) => [cookie(at(c.T({ antiCsrfToken: AC }))),
        ["anti-csrf", "\t" + AC + " \t"]],
    exp: (c) => csrfCookie(c, { acClaim: AC, acHeader: AC }),
});
add("POST cookie, two anti-csrf headers with tabs (each trimmed, joined)", {
    method: "POST",
    headers: (c) => [cookie(at(c.T({ antiCsrfToken: AC + ", " + AC }))),
        ["anti-csrf", AC + "\t"], ["anti-csrf", "\t" + AC]],
    exp: (c) => csrfCookie(c, { acClaim: AC, acHeader: AC }),
});
add("POST cookie, anti-csrf header differs in case", {
    method: "POST",
    headers: (c) => [cookie(at(c.T({ antiCsrfToken: AC }))),
        ["anti-csrf", AC.toUpperCase()]],
    exp: (c) => csrfCookie(c, { acClaim: AC, acHeader: AC.toUpperCase() }),
});
// node's http writes and reads header values as latin1 (a byte per
// character) and the claim is UTF-8 text: "é" goes as byte 0xE9, and its
// UTF-8 bytes would be read as "Ã©".
const AC_UTF8 = "ac-\u00e9";
const AC_UTF8_BYTES = Buffer.from(AC_UTF8, "utf8").toString("latin1");
add("POST cookie, non-ASCII claim, header the same text (latin1)", {
    method: "POST",
    headers: (c) => [cookie(at(c.T({ antiCsrfToken: AC_UTF8 }))),
        ["anti-csrf", AC_UTF8]],
    exp: (c) => csrfCookie(c, { acClaim: AC_UTF8, acHeader: AC_UTF8 }),
});
add("POST cookie, non-ASCII claim, header its UTF-8 bytes", {
    method: "POST",
    headers: (c) => [cookie(at(c.T({ antiCsrfToken: AC_UTF8 }))),
        ["anti-csrf", AC_UTF8_BYTES]],
    exp: (c) => csrfCookie(c, { acClaim: AC_UTF8, acHeader: AC_UTF8_BYTES }),
});
add("POST cookie, claim null, anti-csrf header sent", {
    method: "POST",
    headers: (c) => [cookie(at(c.T())), ["anti-csrf", AC]],
    exp: (c) => csrfCookie(c, { acClaim: null, acHeader: AC }),
});
add("POST cookie, claim with spaces (trimmed), header trimmed", {
    method: "POST",
    headers: (c) => [cookie(at(c.T({ antiCsrfToken: "  " + AC + "  " }))),
        ["anti-csrf", AC]],
});
add("POST cookie, claim a number, header same digits", {
    method: "POST",
    headers: (c) => [cookie(at(c.T({ set: { antiCsrfToken: 123 } }))),
        ["anti-csrf", "123"]],
});
add("POST cookie, rid but no anti-csrf header", {
    method: "POST",
    headers: (c) => [cookie(at(c.T({ antiCsrfToken: AC }))),
        ["rid", "session"]],
    exp: (c) => {
        const i = info(c.cfg);
        if (i.csrf === "VIA_TOKEN") {
            return i.transfer === "header" ? "unauth" : "refresh";
        }
        return csrfCookie(c, { rid: "session", acClaim: AC });
    },
});
add("POST cookie, rid + matching anti-csrf", {
    method: "POST",
    headers: (c) => [cookie(at(c.T({ antiCsrfToken: AC }))),
        ["rid", "session"], ["anti-csrf", AC]],
    exp: (c) => csrfCookie(c, { rid: "session", acClaim: AC,
        acHeader: AC }),
});
add("GET cookie, wrong anti-csrf header (GET not checked)", {
    headers: (c) => [cookie(at(c.T({ antiCsrfToken: AC }))),
        ["anti-csrf", "nope"]],
    exp: (c) => csrfCookie(c, { method: "GET" }),
});
add("POST bearer, wrong anti-csrf header", {
    method: "POST",
    headers: (c) => [bearer(c.T({ antiCsrfToken: AC })),
        ["anti-csrf", "nope"]],
    exp: (c) => (info(c.cfg).transfer === "cookie" ? "unauth" : "ok"),
});
add("DELETE cookie, anti-csrf header matches, no rid", {
    method: "DELETE",
    headers: (c) => [cookie(at(c.T({ antiCsrfToken: AC }))),
        ["anti-csrf", AC]],
    exp: (c) => csrfCookie(c, { method: "DELETE", acClaim: AC,
        acHeader: AC }),
});
add("POST cookie JSON body, rid + anti-csrf", {
    method: "POST",
    headers: (c) => [cookie(at(c.T({ antiCsrfToken: AC }))),
        ["rid", "session"], ["anti-csrf", AC],
        ["Content-Type", "application/json"]],
    body: '{"hello":"world"}',
    exp: (c) => csrfCookie(c, { rid: "session", acClaim: AC,
        acHeader: AC }),
});
module.exports = cases;
