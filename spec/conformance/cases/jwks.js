"use strict";
// Key rotation and JWKS faults (spec §2.3, §12 line 8). Both sides cache
// the JWKS and refetch on an unknown kid at most every 500 ms, so each
// request waits 600 ms first. Run in the default configuration only.
const { bearer } = require("./_dsl");

const cases = [];
const add = (name, o) => cases.push({ name: "jwks: " + name,
    only: ["default"], sleep: 600, ...o });

async function rotated(c, o = {}) {
    const r = await c.core.rotate(o.drop);
    if (o.mode) await c.core.jwks(o.mode, o.params || {});
    return { t: c.T({ key: r.kid }), kid: r.kid };
}

add("rotated key, token signed with the new key", {
    setup: (c) => rotated(c), headers: (c, d) => [bearer(d.t)], exp: "ok" });
add("rotated key with old keys dropped, token with the old key", {
    setup: async (c) => { await c.core.rotate(true); return {}; },
    headers: (c) => [bearer(c.T())] });
add("rotated key, JWKS down", {
    setup: (c) => rotated(c, { mode: "down" }),
    headers: (c, d) => [bearer(d.t)], exp: "refresh" });
add("rotated key, JWKS 500", {
    setup: (c) => rotated(c, { mode: "500" }),
    headers: (c, d) => [bearer(d.t)], exp: "refresh" });
add("rotated key, JWKS answers HTML", {
    setup: (c) => rotated(c, { mode: "html" }),
    headers: (c, d) => [bearer(d.t)], exp: "refresh" });
add("rotated key, JWKS truncated", {
    setup: (c) => rotated(c, { mode: "truncated" }),
    headers: (c, d) => [bearer(d.t)], exp: "refresh" });
add("rotated key, JWKS empty key list", {
    setup: (c) => rotated(c, { mode: "empty" }),
    headers: (c, d) => [bearer(d.t)], exp: "refresh" });
add("rotated key, JWKS duplicate kid (rogue key first)", {
    setup: (c) => rotated(c, { mode: "dupkid" }),
    headers: (c, d) => [bearer(d.t)] });
add("rotated key, JWKS slow (1 s)", {
    setup: (c) => rotated(c, { mode: "slow", params: { ms: 1000 } }),
    headers: (c, d) => [bearer(d.t)], exp: "ok" });
add("rotated key, JWKS 2 MB (padded, valid JSON)", {
    setup: (c) => rotated(c, { mode: "huge",
        params: { bytes: 2 * 1024 * 1024 } }),
    headers: (c, d) => [bearer(d.t)] });
add("JWKS down, token with a cached key", {
    setup: async (c) => { await c.core.jwks("down"); return {}; },
    headers: (c) => [bearer(c.T())], exp: "ok" });
add("JWKS down, unknown kid", {
    setup: async (c) => { await c.core.jwks("down"); return {}; },
    headers: (c) => [bearer(c.T({ key: "rogue", kid: "d-7" }))],
    exp: "refresh" });
module.exports = cases;
