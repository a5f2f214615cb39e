-- Argo CD health for sailoperator.io/Istio (sail-operator): status.state mirrors the reason of the
-- Ready condition; Reconciled=False means the operator could not apply the revision.
local hs = { status = "Progressing", message = "Waiting for the sail-operator to report status" }
if obj.status == nil then
  return hs
end
local generation = obj.metadata and obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and observed ~= nil and observed < generation then
  hs.message = "Waiting for the operator to observe generation " .. generation
  return hs
end

local ready, reconciled = nil, nil
if obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    if c.type == "Ready" then ready = c end
    if c.type == "Reconciled" then reconciled = c end
  end
end

local function describe(c)
  local text = c.type .. "=" .. c.status
  if c.reason ~= nil and c.reason ~= "" then text = text .. " (" .. c.reason .. ")" end
  if c.message ~= nil and c.message ~= "" then text = text .. ": " .. c.message end
  return text
end

-- states that will not clear without a change (the others: istiod is still rolling out)
local failing = { ReconcileError = true, ReadinessCheckFailed = true, FailedToGetActiveRevision = true }

if reconciled ~= nil and reconciled.status == "False" then
  hs.status = "Degraded"
  hs.message = describe(reconciled)
elseif ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = "Istio control plane is ready (revision " .. (obj.status.activeRevisionName or "?") .. ")"
elseif obj.status.state ~= nil and failing[obj.status.state] then
  hs.status = "Degraded"
  hs.message = ready and describe(ready) or ("state " .. obj.status.state)
elseif ready ~= nil then
  hs.message = describe(ready)
elseif obj.status.state ~= nil then
  hs.message = "state " .. obj.status.state
end
return hs
