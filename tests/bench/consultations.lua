-- wrk script of the consultation-creation benchmark (tests/bench/consultations.sh):
--   wrk ... -s tests/bench/consultations.lua http://127.0.0.1:PORT -- BODIES_FILE
-- BODIES_FILE has one request body a line, "KIND<TAB>JSON" (consultations_bench.py bodies).
-- Each connection POSTs /v1/consultations with the bodies in turn, so the mix is an equal share
-- of each (the Authorization header comes from wrk's -H). Counts the responses by status and
-- prints them when done, as lines "consultations-status CODE N" and
-- "consultations-first-non-2xx CODE BODY" for the script to check.
local threads = {}
local counter = 0

function setup(thread)
    counter = counter + 1
    thread:set("id", counter)
    table.insert(threads, thread)
end

function init(args)
    local path = args[1]
    if not path then
        error("consultations.lua: give the bodies file after --")
    end
    local f = assert(io.open(path, "r"))
    reqs = {}
    -- a headers table given to wrk.format replaces wrk's -H headers: start from those
    local headers = {}
    for k, v in pairs(wrk.headers) do
        headers[k] = v
    end
    headers["Content-Type"] = "application/json"
    for line in f:lines() do
        local body = string.match(line, "^[%w_]+\t(.+)$")
        if body then
            reqs[#reqs + 1] = wrk.format("POST", "/v1/consultations", headers, body)
        end
    end
    f:close()
    if #reqs == 0 then
        error("consultations.lua: no bodies in " .. path)
    end
    -- the two threads start at different places in the list, so they do not move in lockstep
    n = (id or 1) - 1
    codes, first_bad = {}, nil
end

function request()
    n = n + 1
    return reqs[(n - 1) % #reqs + 1]
end

function response(status, headers, body)
    codes[status] = (codes[status] or 0) + 1
    if (status < 200 or status > 299) and not first_bad then
        first_bad = status .. " " .. string.sub(body or "", 1, 300)
    end
end

function done(summary, latency, requests)
    local total, bad = {}, nil
    for _, t in ipairs(threads) do
        for k, v in pairs(t:get("codes")) do
            total[k] = (total[k] or 0) + v
        end
        bad = bad or t:get("first_bad")
    end
    for k, v in pairs(total) do
        io.write("consultations-status ", k, " ", v, "\n")
    end
    if bad then
        io.write("consultations-first-non-2xx ", (string.gsub(bad, "\n", " ")), "\n")
    end
end
