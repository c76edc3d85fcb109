-- wrk script: counts responses by HTTP status and prints one non-2xx body.
-- Used by run.sh only to diagnose a run that had non-2xx responses (the Lua
-- response callback costs client CPU, so the measured run does without it).
local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    codes = {}
end

function response(status, headers, body)
    codes[status] = (codes[status] or 0) + 1
    if (status < 200 or status > 299) and not shown then
        shown = true
        io.write("first non-2xx: ", status, " ", body or "", "\n")
    end
end

function done(summary, latency, requests)
    local total = {}
    for _, t in ipairs(threads) do
        for k, v in pairs(t:get("codes")) do
            total[k] = (total[k] or 0) + v
        end
    end
    for k, v in pairs(total) do
        io.write("status ", k, ": ", v, "\n")
    end
end
