-- Argo CD health for serving.kserve.io/LLMInferenceService (KServe v0.15).
-- Conditions follow Knative semantics: Unknown = still reconciling, False = failed.
-- Ready aggregates WorkloadsReady, RouterReady, InferencePoolReady, HTTPRoutesReady, ...
local hs = { status = "Progressing", message = "Waiting for the KServe controller to report status" }
if obj.status == nil or obj.status.conditions == nil then
  return hs
end
local generation = obj.metadata and obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and observed ~= nil and observed < generation then
  hs.message = "Waiting for the controller to observe generation " .. generation
  return hs
end

local ready = nil
local failed = nil   -- first sub-condition that is False with Error severity
for _, c in ipairs(obj.status.conditions) do
  if c.type == "Ready" then
    ready = c
  elseif c.status == "False" and (c.severity == nil or c.severity == "" or c.severity == "Error") then
    failed = failed or c
  end
end

local function describe(c)
  local text = c.type
  if c.reason ~= nil and c.reason ~= "" then text = text .. " (" .. c.reason .. ")" end
  if c.message ~= nil and c.message ~= "" then text = text .. ": " .. c.message end
  return text
end

if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = "LLMInferenceService is ready"
elseif ready ~= nil and ready.status == "False" then
  hs.status = "Degraded"
  hs.message = describe(failed or ready)
elseif failed ~= nil then
  hs.status = "Degraded"
  hs.message = describe(failed)
elseif ready ~= nil then
  hs.message = describe(ready)
end
return hs
