-- Argo CD health for InferencePool: inference.networking.k8s.io/v1 (status.parents) and
-- inference.networking.x-k8s.io/v1alpha2 (status.parent). Each Gateway that references the pool
-- reports Accepted and ResolvedRefs; the pool is healthy when every reporting parent has both True.
local hs = { status = "Progressing", message = "Waiting for a Gateway to accept the pool" }
if obj.status == nil then
  return hs
end
local parents = obj.status.parents or obj.status.parent
if parents == nil then
  return hs
end

local function condition(conditions, kind)
  if conditions == nil then return nil end
  for _, c in ipairs(conditions) do
    if c.type == kind then return c end
  end
  return nil
end

local function describe(ref, c)
  local who = (ref and ref.name) or "parent"
  local text = who .. ": " .. c.type .. "=" .. c.status
  if c.reason ~= nil and c.reason ~= "" then text = text .. " (" .. c.reason .. ")" end
  if c.message ~= nil and c.message ~= "" then text = text .. " " .. c.message end
  return text
end

local reported = 0
local waiting = nil
for _, p in ipairs(parents) do
  -- the controller-less placeholder parent (kind Status, name default) means nobody reported yet
  local placeholder = p.parentRef ~= nil and p.parentRef.kind == "Status"
  if not placeholder then
    reported = reported + 1
    for _, kind in ipairs({ "Accepted", "ResolvedRefs" }) do
      local c = condition(p.conditions, kind)
      if c ~= nil and c.status == "False" then
        hs.status = "Degraded"
        hs.message = describe(p.parentRef, c)
        return hs
      end
      if (c == nil or c.status ~= "True") and waiting == nil then
        waiting = describe(p.parentRef, c or { type = kind, status = "Unknown" })
      end
    end
  end
end

if reported == 0 then
  return hs
end
if waiting ~= nil then
  hs.message = waiting
  return hs
end
hs.status = "Healthy"
hs.message = "Accepted by " .. reported .. " Gateway(s), references resolved"
return hs
