-- wrk script of the directory benchmark (tests/bench/directory.sh):
--   wrk ... -s tests/bench/directory.lua http://127.0.0.1:PORT -- QUERY_STRING...
-- Each connection requests GET /v1/consultants?QUERY_STRING for the query strings in turn
-- (the Authorization header comes from wrk's -H). When done, prints the latencies as lines
-- "directory-latency US N" (N responses took US to US + 9 µs), so that the script can take
-- percentiles over several runs (wrk_pctl in lib.sh).
-- No response() callback: it would make wrk hand every ~15 KiB body to Lua, client CPU taken
-- from the server and PostgreSQL on the same cores (pgbench does not read its rows either).
-- wrk counts non-2xx responses itself; directory.sh checks every query string's answer before
-- and, when wrk counted any, after the measured runs.
local counter = 0

function setup(thread)
    counter = counter + 1
    thread:set("id", counter)
end

function init(args)
    reqs = {}
    for i, qs in ipairs(args) do
        reqs[i] = wrk.format("GET", "/v1/consultants?" .. qs)
    end
    if #reqs == 0 then
        error("directory.lua: no query strings after --")
    end
    -- threads start at different places in the list, so they do not move in lockstep
    n = ((id or 1) - 1) * 7
end

function request()
    n = n + 1
    return reqs[(n - 1) % #reqs + 1]
end

function done(summary, latency, requests)
    -- latency(i): the i-th distinct latency (µs) and how many responses took it
    local bins = {}
    for i = 1, #latency do
        local us, count = latency(i)
        local bin = math.floor(us / 10) * 10
        bins[bin] = (bins[bin] or 0) + count
    end
    for bin, count in pairs(bins) do
        io.write("directory-latency ", bin, " ", count, "\n")
    end
end
