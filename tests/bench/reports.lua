-- wrk script of the reports benchmark (tests/bench/reports.sh):
--   [REPORTS_CHECK=1] wrk ... -s tests/bench/reports.lua http://127.0.0.1:PORT -- PATH
-- Every request is GET PATH (the Authorization header comes from wrk's -H). When done, prints
-- the latencies as lines "reports-latency US N" (N responses took US to US + 9 µs), so that the
-- script can take percentiles over several runs (wrk_pctl in lib.sh).
-- With REPORTS_CHECK=1 (the warm-up run, under the same load) it also reads every response:
-- counts them by status and counts the 200 responses that count no submitted consultation (a
-- report of an empty region or period measures nothing), and prints them as lines
-- "reports-status CODE N", "reports-empty N" and "reports-first-non-2xx CODE BODY". The
-- measured runs do without (a response() callback hands every body to Lua, client CPU taken
-- from the server and PostgreSQL on the same cores); wrk counts responses of 400 or more itself.
local threads = {}
local check = os.getenv("REPORTS_CHECK") == "1"

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    local path = args[1]
    if not path then
        error("reports.lua: give the path after --")
    end
    req = wrk.format("GET", path)
    codes, empty, first_bad = {}, 0, nil
end

function request()
    return req
end

-- wrk reads bodies only when the script defines response()
if check then
    function response(status, headers, body)
        codes[status] = (codes[status] or 0) + 1
        if status < 200 or status > 299 then
            if not first_bad then
                first_bad = status .. " " .. string.sub(body or "", 1, 300)
            end
        elseif not (body and string.find(body, '"submitted": ?[1-9]')) then
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
            io.write("reports-status ", k, " ", v, "\n")
        end
        io.write("reports-empty ", nempty, "\n")
        if bad then
            io.write("reports-first-non-2xx ", (string.gsub(bad, "\n", " ")), "\n")
        end
    end
    local bins = {}
    for i = 1, #latency do
        local us, count = latency(i)
        local bin = math.floor(us / 10) * 10
        bins[bin] = (bins[bin] or 0) + count
    end
    for bin, count in pairs(bins) do
        io.write("reports-latency ", bin, " ", count, "\n")
    end
end
