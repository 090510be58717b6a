-- Headless Neovim trial of `dfix server` (run by ../run.sh, after the config block of
-- docs/editor.md was loaded with -u). Mode in $DFIX_TRIAL_MODE:
--   quickfix: the quick fix "Mount NPM_TOKEN as a BuildKit secret …" through vim.lsp.buf.code_action
--   fixall:   the documented fix-all call (context.only = source.fixAll.dfix, apply = true)
-- Both: wait for the diagnostics, print them, the hover, the code actions offered and the code
-- lens; run the lens (its window/showMessage is the build recipe); apply the fix; wait for the
-- diagnostics to clear; check the documented didChangeConfiguration re-check; :write; exit 0, or
-- :cquit with a reason.
local mode = vim.env.DFIX_TRIAL_MODE or 'quickfix'
local function out(...)
  io.stdout:write('TRIAL: ' .. table.concat(vim.tbl_map(tostring, { ... }), ' ') .. '\n')
  io.stdout:flush()
end
local function fail(why)
  out('FAIL', why)
  vim.cmd('cquit 1')
end
local nv = vim.version()
out(string.format('nvim %d.%d.%d, mode %s, filetype %s', nv.major, nv.minor, nv.patch, mode, vim.bo.filetype))

-- every window/showMessage the server sends (still shown as usual)
local notes = {}
local show = vim.lsp.handlers['window/showMessage']
vim.lsp.handlers['window/showMessage'] = function(err, params, ctx)
  table.insert(notes, params.message)
  return show(err, params, ctx)
end

local ok = vim.wait(20000, function()
  return #vim.lsp.get_clients({ bufnr = 0, name = 'dfix' }) > 0
end, 20)
if not ok then
  return fail('no dfix client attached (filetype ' .. vim.bo.filetype .. ')')
end
local client = vim.lsp.get_clients({ bufnr = 0, name = 'dfix' })[1]
out('attached:', client.name, 'root_dir', client.root_dir or client.config.root_dir)

local function dfix_diags()
  return vim.diagnostic.get(0, { namespace = vim.lsp.diagnostic.get_namespace(client.id) })
end
if not vim.wait(20000, function() return #dfix_diags() > 0 end, 20) then
  return fail('no diagnostics within 20 s')
end
local d0 = dfix_diags()[1]
for _, d in ipairs(dfix_diags()) do
  out(string.format('diagnostic %d:%d %s %s: %s', d.lnum + 1, d.col + 1, d.source or '?', d.code or '?',
    vim.split(d.message, '\n')[1]))
end

-- hover on the finding
vim.api.nvim_win_set_cursor(0, { d0.lnum + 1, d0.col })
local hov = vim.lsp.buf_request_sync(0, 'textDocument/hover',
  vim.lsp.util.make_position_params(0, client.offset_encoding), 5000)
local hv = hov and hov[client.id] and hov[client.id].result
out('hover:', hv and vim.split(hv.contents.value, '\n')[1] or 'none')

-- the code actions offered at the finding
local params = vim.lsp.util.make_range_params(0, client.offset_encoding)
params.context = { diagnostics = { d0.user_data and d0.user_data.lsp or nil }, triggerKind = 1 }
local res = vim.lsp.buf_request_sync(0, 'textDocument/codeAction', params, 5000)
for _, a in ipairs(res and res[client.id] and res[client.id].result or {}) do
  out('code action:', a.kind, '|', a.title)
end

-- the code lens: in 0.12 lenses are enabled with vim.lsp.codelens.enable(); refresh() before
local lens_title
if vim.lsp.codelens.enable then
  vim.lsp.codelens.enable(true, { bufnr = 0 })
else
  vim.lsp.codelens.refresh({ bufnr = 0 })
  vim.wait(5000, function() return #vim.lsp.codelens.get(0) > 0 end, 20)
  local l = vim.lsp.codelens.get(0)[1]
  lens_title = l and l.command and l.command.title
end
local lres = vim.lsp.buf_request_sync(0, 'textDocument/codeLens',
  { textDocument = vim.lsp.util.make_text_document_params(0) }, 5000)
local lens = lres and lres[client.id] and lres[client.id].result and lres[client.id].result[1]
if not lens then
  return fail('no code lens')
end
out('code lens (line ' .. (lens.range.start.line + 1) .. '):', lens.command.title)
if lens_title then
  out('code lens as the editor holds it:', lens_title)
end
vim.api.nvim_win_set_cursor(0, { lens.range.start.line + 1, 0 })
local n_notes = #notes
vim.lsp.codelens.run()
if not vim.wait(5000, function() return #notes > n_notes end, 20) then
  return fail('running the code lens showed no message')
end
for _, line in ipairs(vim.split(notes[#notes], '\n')) do
  out('lens message |', line)
end

-- apply the fix
local before = vim.b.changedtick
vim.api.nvim_win_set_cursor(0, { d0.lnum + 1, d0.col })
if mode == 'fixall' then
  vim.lsp.buf.code_action({ context = { only = { 'source.fixAll.dfix' } }, apply = true })
else
  vim.lsp.buf.code_action({
    filter = function(a) return a.title:match('^Mount NPM_TOKEN as a BuildKit secret') ~= nil end,
    apply = true,
  })
end
if not vim.wait(5000, function() return vim.b.changedtick ~= before end, 20) then
  return fail('the code action changed nothing')
end
out('applied; buffer changedtick', before, '->', vim.b.changedtick)
if not vim.wait(10000, function() return #dfix_diags() == 0 end, 20) then
  return fail('diagnostics did not clear: ' .. #dfix_diags())
end
out('diagnostics after the fix: 0')

-- the documented re-check after a settings change (ruleDocsUrl shows as codeDescription)
vim.cmd('silent undo')
if not vim.wait(10000, function() return #dfix_diags() > 0 end, 20) then
  return fail('no diagnostics after undo')
end
client.settings.dfix.ruleDocsUrl = 'https://example.com/dfix/{code}'
local okn, err = pcall(function()
  -- exactly the comments in docs/editor.md (a method from 0.11 on; 0.12 deprecates the `.` call)
  if vim.fn.has('nvim-0.11') == 1 then
    vim.lsp.get_clients({ name = 'dfix' })[1]:notify('workspace/didChangeConfiguration', { settings = vim.NIL })
  else
    vim.lsp.get_clients({ name = 'dfix' })[1].notify('workspace/didChangeConfiguration', { settings = vim.NIL })
  end
end)
if not okn then
  return fail('didChangeConfiguration: ' .. tostring(err))
end
local function href()
  local d = dfix_diags()[1]
  local lsp = d and d.user_data and d.user_data.lsp
  return lsp and lsp.codeDescription and lsp.codeDescription.href
end
if not vim.wait(10000, function() return href() ~= nil end, 20) then
  return fail('the settings change was not picked up')
end
out('after didChangeConfiguration: codeDescription', href())
vim.cmd('silent redo')
if not vim.wait(10000, function() return #dfix_diags() == 0 end, 20) then
  return fail('diagnostics did not clear after redo')
end

vim.cmd('write')
out('written', vim.api.nvim_buf_get_name(0))
vim.cmd('qall!')
