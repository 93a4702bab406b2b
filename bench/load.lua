-- wrk script for bench/load.py, which writes the requests file, runs wrk and reads the result.
--
--   wrk -t T -c T -d <seconds> --timeout 30s -s bench/load.lua <url> -- MODE FILE T PARKING_PORT
--
-- FILE is a Lua chunk returning a list of complete HTTP requests. One connection per thread, so each
-- thread's requests go one after another and a request's latency is exactly its own.
--   once:   every request in FILE exactly once, as fast as the server answers (thread i takes i+1,
--           i+1+T, ...); each thread prints "thread-done" when its share is answered, and the bench
--           then interrupts wrk, whose main thread otherwise sleeps out its -d. gunicorn's sync
--           workers close every connection, and wrk opens the next one as soon as an answer is in:
--           a finished thread's next connection, left silent, would hold the sync worker that took
--           it until the run ends. So that connection goes to PARKING_PORT, a socket the bench
--           listens on and never serves, and the thread stops.
--   repeat: the first request over and over until wrk's -d runs out (the trivial endpoint).
-- done() prints one line: "RESULT {json}" with every latency (microseconds, from wrk's own monotonic
-- clock) and the count of each status.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local clock = ffi.new("bench_timespec")

local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) * 1000000 + tonumber(clock.tv_nsec) / 1000
end

-- setup phase (the main Lua state): number the threads, keep them for done()
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

-- running phase (each thread's own Lua state)
function init(args)
  mode, requests = args[1], dofile(args[2])
  local count = tonumber(args[3])
  parking = wrk.lookup("127.0.0.1", args[4])[1]
  mine = {}
  if mode == "repeat" then
    mine[1] = 1
  else
    for g = id + 1, #requests, count do
      table.insert(mine, g)
    end
  end
  -- The position advances on each answer, not in request(): wrk calls request() once untimed on
  -- thread 0 to check the script, and that call must not use up a request.
  position, answered, sent_at = 1, 0, 0
  latencies, statuses, first_us, last_us = {}, {}, 0, 0
end

function request()
  sent_at = now_us()
  if first_us == 0 then
    first_us = sent_at
  end
  return requests[mine[position]]
end

function response(status, headers, body)
  local done_at = now_us()
  answered = answered + 1
  latencies[answered] = done_at - sent_at
  statuses[tostring(status)] = (statuses[tostring(status)] or 0) + 1
  last_us = done_at
  if mode ~= "repeat" then
    position = position + 1
    if position > #mine then
      wrk.thread.addr = parking
      wrk.thread:stop()
      io.write("thread-done\n")
      io.flush()
    end
  end
end

-- done phase (the main Lua state again)
function done(summary, latency, requests)
  local all, codes, first, last = {}, {}, nil, 0
  for _, thread in ipairs(threads) do
    for _, value in ipairs(thread:get("latencies")) do
      table.insert(all, string.format("%.0f", value))
    end
    for status, count in pairs(thread:get("statuses")) do
      codes[status] = (codes[status] or 0) + count
    end
    local f, l = thread:get("first_us"), thread:get("last_us")
    if f > 0 and (first == nil or f < first) then
      first = f
    end
    if l > last then
      last = l
    end
  end
  local parts = {}
  for status, count in pairs(codes) do
    table.insert(parts, string.format('"%s": %d', status, count))
  end
  local errors = summary.errors
  io.write(string.format(
    'RESULT {"first_us": %.0f, "last_us": %.0f, "statuses": {%s}, "socket_errors": %d, "timeouts": %d, "latencies_us": [%s]}\n',
    first or 0, last, table.concat(parts, ", "), errors.connect + errors.read + errors.write, errors.timeout,
    table.concat(all, ",")))
  io.flush()
end
