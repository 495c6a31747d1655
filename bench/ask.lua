-- wrk script for bench/throughput.py: POST /api/ask, cycling through one JSON body per line of a file.
-- Usage: wrk ... -s bench/ask.lua URL -- BODIES_FILE
local bodies = {}
local next_body = 0

init = function(args)
  for line in io.lines(args[1]) do
    bodies[#bodies + 1] = line
  end
  next_body = math.random(#bodies)  -- each wrk thread starts at its own place in the list
end

request = function()
  next_body = next_body % #bodies + 1
  return wrk.format("POST", "/api/ask", { ["Content-Type"] = "application/json" }, bodies[next_body])
end
