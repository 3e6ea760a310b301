-- File helpers shared by the spec helpers and specs: whole-file reads and
-- writes, binary-safe.
local _M = {}


-- The file's bytes, or nil and io.open's message when it cannot be opened.
function _M.read(path)
    local f, err = io.open(path, "rb")
    if not f then
        return nil, err
    end
    local d = f:read("*a")
    f:close()
    return d
end


-- The file's bytes; raises io.open's message (failing the test) when it
-- cannot be opened.
function _M.must_read(path)
    return assert(_M.read(path))
end


function _M.write(path, data)
    local f = assert(io.open(path, "wb"))
    f:write(data)
    f:close()
end


return _M
