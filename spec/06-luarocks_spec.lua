-- `luarocks make` with rockspec/lua-resty-supertokens-scm-1.rockspec
-- installs a working module: built from a clean copy of the sources into
-- a temporary tree, then used with that tree's paths only (never the
-- repository's lua/ or build/).

local keys = require "spec.helpers.keys"

local ROCKSPEC = "rockspec/lua-resty-supertokens-scm-1.rockspec"

local function q(s)
    return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function sh(cmd)
    local p = io.popen("sh -c " .. q(cmd .. " 2>&1; echo \"rc=$?\""))
    local out = p:read("*a")
    p:close()
    local rc = tonumber(out:match("rc=(%d+)%s*$"))
    return rc, out:gsub("rc=%d+%s*$", "")
end

describe("luarocks make", function()
    local tmp, tree, src, jwks_path, token

    setup(function()
        tmp = keys.tmpdir()
        src, tree = tmp .. "/src", tmp .. "/tree"
        local k = keys.rsa(2048, "rock-1")
        jwks_path = keys.write_file(tmp .. "/jwks.json", keys.jwks({ k }))
        token = keys.token(k, "RS256", nil,
                           { sub = "rock", exp = 4102444800 })
    end)

    teardown(function()
        keys.cleanup()
    end)

    it("builds and installs the rock into a fresh tree", function()
        local rc, out = sh("mkdir -p " .. src .. " && tar cf - Makefile mk "
            .. "csrc lua bin rockspec | (cd " .. src .. " && tar xf -)")
        assert.equal(0, rc, out)
        rc, out = sh("cd " .. src .. " && HOME=" .. tmp .. " luarocks make "
            .. "--tree " .. tree .. " " .. ROCKSPEC)
        assert.equal(0, rc, out)
        assert.matches("is now installed in " .. tree, out, 1, true)
        for _, f in ipairs({ "/lib/lua/5.1/libstjwt.so",
                             "/share/lua/5.1/resty/supertokens/ffi.lua",
                             "/share/lua/5.1/resty/supertokens/jwt.lua",
                             "/bin/stjwt" }) do
            assert.is_truthy(io.open(tree .. f), f)
        end
    end)

    it("verifies a token with only the tree on the module paths",
       function()
        local code = [[
            local stffi = require "resty.supertokens.ffi"
            local jwt = require "resty.supertokens.jwt"
            local f = assert(io.open(arg[1]))
            local ks = assert(jwt.keyset(f:read("*a")))
            local res = assert(jwt.verifier():verify(ks, arg[2]))
            io.write(stffi.path, " ", res.payload.sub, " ",
                     package.searchpath("resty.supertokens.jwt",
                                        package.path), "\n")
        ]]
        local script = keys.write_file(tmp .. "/use.lua", code)
        local lpath = tree .. "/share/lua/5.1/?.lua;"
                      .. "/usr/share/lua/5.1/?.lua"
        local cpath = tree .. "/lib/lua/5.1/?.so;"
                      .. "/usr/lib/x86_64-linux-gnu/lua/5.1/?.so"
        local rc, out = sh("cd /tmp && LUA_PATH=" .. q(lpath)
            .. " LUA_CPATH=" .. q(cpath) .. " luajit " .. script .. " "
            .. jwks_path .. " " .. token)
        assert.equal(0, rc, out)
        assert.equal(tree .. "/lib/lua/5.1/libstjwt.so rock " .. tree
                     .. "/share/lua/5.1/resty/supertokens/jwt.lua\n", out)
    end)

    it("installs a working stjwt CLI", function()
        local rc, out = sh("cd /tmp && env -u LUA_PATH -u LUA_CPATH "
            .. tree .. "/bin/stjwt verify --jwks " .. jwks_path .. " "
            .. token)
        assert.equal(0, rc, out)
        assert.same({ sub = "rock", exp = 4102444800 },
                    require("cjson").decode(out))
    end)
end)
