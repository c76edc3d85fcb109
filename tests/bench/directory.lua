-- wrk script of the directory benchmark (tests/bench/directory.sh):
--   [DIRECTORY_CHECK=1] wrk ... -s tests/bench/directory.lua http://127.0.0.1:PORT -- QUERY_STRING...
-- Each connection requests GET /v1/consultants?QUERY_STRING for the query strings in turn
-- (the Authorization header comes from wrk's -H). When done, prints the latencies as lines
-- "directory-latency US N" (N responses took US to US + 9 µs), so that the script can take
-- percentiles over several runs (wrk_pctl in lib.sh).
-- With DIRECTORY_CHECK=1 (the warm-up run, under the same load) it also reads every response:
-- counts them by status and counts the 200 responses with no items, and prints them as lines
-- "directory-status CODE N", "directory-empty N" and "directory-first-non-2xx CODE BODY".
-- The measured runs do without: a response() callback makes wrk hand every ~15 KiB body to Lua,
-- client CPU taken from the server and PostgreSQL on the same cores (pgbench does not read its
-- rows either). wrk counts their responses with a status of 400 or more itself.
local threads = {}
local counter = 0
local check = os.getenv("DIRECTORY_CHECK") == "1"

function setup(thread)
    counter = counter + 1
    thread:set("id", counter)
    table.insert(threads, thread)
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
    codes, empty, first_bad = {}, 0, nil
end

function request()
    n = n + 1
    return reqs[(n - 1) % #reqs + 1]
end

-- wrk reads bodies only when the script defines response()
if check then
    function response(status, headers, body)
        codes[status] = (codes[status] or 0) + 1
        if status < 200 or status > 299 then
            if not first_bad then
                first_bad = status .. " " .. string.sub(body or "", 1, 300)
            end
        elseif body and string.sub(body, 1, 11) == '{"items":[]' then
            empty = empty + 1
        end
    end
end

function done(summary, latency, requests)
    if check then
        local total, nempty, bad = {}, 0, nil
        for _, t in ipairs(threads) do
            for k, v in pairs(t:get("codes")) do
                total[k] = (total[k] or 0) + v
            end
            nempty = nempty + t:get("empty")
            bad = bad or t:get("first_bad")
        end
        for k, v in pairs(total) do
            io.write("directory-status ", k, " ", v, "\n")
        end
        io.write("directory-empty ", nempty, "\n")
        if bad then
            io.write("directory-first-non-2xx ", (string.gsub(bad, "\n", " ")), "\n")
        end
    end
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
