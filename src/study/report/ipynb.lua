-- ipynb.lua: shape pandoc's ipynb AST into report content (Typst output).
--
-- Expects the notebook to be pre-cleaned by render.py (one MIME type per
-- output, dropped cells/streams) and pandoc run with --ipynb-output=all.
--   * code cells: the input CodeBlock is dropped, only outputs are kept
--   * markdown cells / output wrappers are unwrapped (no Typst labels per cell)
--   * text/html outputs (pandas DataFrames) are parsed into real tables,
--     text/markdown and text/latex outputs are parsed too
--   * numeric table columns are right-aligned, others left-aligned
--   * headings are shifted so the notebook's first heading is level 1
--   * heading ids and internal links are prefixed with metadata `part-id`
--   * a level-1 heading from metadata `part-title` is added if none exists
--   * lone images (plots) are centered (no figure number)
--   * horizontal rules become plain Typst lines (no template helper needed)
--   * a part's answer box (an HTML div of class "answer") becomes the template's
--     `answer-box` (imported from report.typ at the top of the part)
--   * metadata `report-target` = html leaves images and rules to pandoc's HTML

local stringify = pandoc.utils.stringify

local function has_class(el, cls)
  return el.classes and el.classes:includes(cls)
end

-- Flatten one cell into the blocks that should appear in the report.
local function cell_blocks(div)
  local out = pandoc.List()
  if has_class(div, "code") then
    for _, child in ipairs(div.content) do
      if child.t == "Div" and has_class(child, "output") then
        out:extend(child.content)
      end
    end
  else
    out:extend(div.content)
  end
  return out
end

local function is_number(s)
  -- separators and the percent sign, incl. the no-break space German puts before "%"
  s = s:gsub("\u{a0}", ""):gsub("\u{202f}", ""):gsub("[%s,%.%%]", ""):gsub("\u{2212}", "-")
  -- a dash is a missing number (the column stays right-aligned)
  return s ~= "" and (tonumber(s) ~= nil or s == "NaN" or s == "nan" or s == "<NA>"
    or s == "\u{2013}")
end

-- Right-align all-numeric columns, left-align the rest (unless set already).
local function align_numeric(tbl)
  local ncols = #tbl.colspecs
  for c = 1, ncols do
    local numeric, seen = true, false
    for _, body in ipairs(tbl.bodies) do
      for _, row in ipairs(body.body) do
        local cell = row.cells[c]
        if cell then
          local txt = stringify(cell.contents)
          if txt ~= "" then
            seen = true
            if not is_number(txt) then numeric = false end
          end
        end
      end
    end
    -- explicit left, else Typst's `auto` inherits pandoc's align(center)
    local align = (numeric and seen) and pandoc.AlignRight or pandoc.AlignLeft
    if tbl.colspecs[c][1] == pandoc.AlignDefault then
      tbl.colspecs[c] = { align, tbl.colspecs[c][2] }
    end
  end
  return tbl
end

local raw_to_ast = {
  RawBlock = function(el)
    if el.format == "html" then
      return pandoc.read(el.text, "html").blocks
    elseif el.format == "markdown" then
      return pandoc.read(el.text, "markdown+smart").blocks
    elseif el.format == "latex" or el.format == "tex" then
      return pandoc.read(el.text, "latex").blocks
    end
  end,
}

function Pandoc(doc)
  local uses_box = false
  local meta = doc.meta
  local prefix = meta["part-id"] and stringify(meta["part-id"]) or nil
  local fallback_title = meta["part-title"] and stringify(meta["part-title"]) or nil
  local typst = not (meta["report-target"] and stringify(meta["report-target"]) == "html")

  -- 1. cells -> flat block list (code inputs removed)
  local blocks = pandoc.List()
  for _, blk in ipairs(doc.blocks) do
    if blk.t == "Div" and has_class(blk, "cell") then
      blocks:extend(cell_blocks(blk))
    else
      blocks:insert(blk)
    end
  end
  doc.blocks = blocks

  -- 2. raw HTML / LaTeX outputs -> pandoc AST (tables, math, ...)
  doc = doc:walk(raw_to_ast)

  -- 3. heading shift: first heading becomes level 1
  local first_level = nil
  doc:walk({ Header = function(h) first_level = first_level or h.level end })
  if first_level == nil then
    if fallback_title then
      doc.blocks:insert(1, pandoc.Header(1, fallback_title))
    end
    first_level = 1
  end
  local shift = first_level - 1

  doc = doc:walk({
    Header = function(h)
      h.level = math.max(1, h.level - shift)
      if prefix and h.identifier ~= "" then
        h.identifier = prefix .. "-" .. h.identifier
      end
      return h
    end,
    Link = function(l)
      if prefix and l.target:sub(1, 1) == "#" then
        l.target = "#" .. prefix .. "-" .. l.target:sub(2)
      end
      return l
    end,
    Table = align_numeric,
    -- A paragraph holding only an image (plot output) -> centered block.
    -- (pandoc.Figure would print "Figure N:" for an empty caption in Typst.)
    Para = function(p)
      if typst and #p.content == 1 and p.content[1].t == "Image" then
        return {
          pandoc.RawBlock("typst", "#align(center)["),
          pandoc.Plain(p.content),
          pandoc.RawBlock("typst", "]"),
        }
      end
    end,
    HorizontalRule = function()
      if not typst then return nil end
      return pandoc.RawBlock("typst", "#line(length: 100%, stroke: 0.5pt + luma(160))")
    end,
    -- The answer box; other leftover wrappers from parsed HTML (e.g. pandas' <div>) are
    -- dropped, their content kept.
    Div = function(d)
      if typst and has_class(d, "answer") then
        uses_box = true
        local out = pandoc.List({ pandoc.RawBlock("typst", "#answer-box[") })
        out:extend(d.content)
        out:insert(pandoc.RawBlock("typst", "]"))
        return out
      end
      return d.content
    end,
  })
  if uses_box then
    doc.blocks:insert(1, pandoc.RawBlock("typst", '#import "report.typ": answer-box'))
  end
  return doc
end
